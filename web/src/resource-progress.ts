// Turns engine events into what the operation page shows: a row per resource with its step
// and how long it took, and how many resources are done.
export interface StreamedEvent {
  sequence: number;
  type: string;
  payload: unknown;
  /** When the page received it: engine events carry no time of their own. */
  receivedAt: number;
}

export interface ResourceRow {
  urn: string;
  name: string;
  type: string;
  step: string;
  startedAt: number;
  doneAt?: number;
  failed?: boolean;
}

interface Metadata { op?: string; urn?: string; type?: string }
const metadataOf = (payload: unknown): Metadata => ((payload as { metadata?: Metadata } | null)?.metadata ?? {});

export class ResourceProgress {
  readonly rows = new Map<string, ResourceRow>();
  events = 0;
  lastSequence = 0;
  finished = false;

  apply(event: StreamedEvent): void {
    this.events += 1;
    this.lastSequence = event.sequence;
    const meta = metadataOf(event.payload);
    if (event.type === 'resourcePre' && meta.urn) {
      const name = meta.urn.split('::').pop() ?? meta.urn;
      this.rows.set(meta.urn, { urn: meta.urn, name, type: meta.type ?? '', step: meta.op ?? 'same', startedAt: event.receivedAt });
    } else if ((event.type === 'resOutputs' || event.type === 'resOpFailed') && meta.urn) {
      const row = this.rows.get(meta.urn);
      if (row && row.doneAt === undefined) Object.assign(row, { doneAt: event.receivedAt, failed: event.type === 'resOpFailed' });
    } else if (event.type === 'result') {
      this.finished = true;
    }
  }

  get done(): number {
    if (this.finished) return this.rows.size;
    let done = 0;
    for (const row of this.rows.values()) if (row.doneAt !== undefined) done += 1;
    return done;
  }
}
