// What --follow shows while an operation runs: resources done of total, the resource the engine
// is on now, and the time since it started. On a terminal it is one line redrawn in place;
// otherwise (CI logs) one plain line per event, which a log keeps and greps well.

export interface StreamEvent {
  id: string;
  type: string;
  payload: unknown;
}

interface ResourceMetadata {
  urn?: string;
  op?: string;
}

export class Progress {
  private readonly seen = new Set<string>();
  private readonly done = new Set<string>();
  private current = '';
  private readonly started = Date.now();

  /** `expected`: resources the stack held before, a first guess of the total. */
  constructor(private readonly expected = 0) {}

  observe(event: StreamEvent): void {
    const metadata = (event.payload as { metadata?: ResourceMetadata } | null)?.metadata;
    if (!metadata?.urn) return;
    if (event.type === 'resourcePre') {
      this.seen.add(metadata.urn);
      this.current = `${metadata.op ?? 'same'} ${nameOf(metadata.urn)}`;
    } else if (event.type === 'resOutputs' || event.type === 'resOpFailed') {
      this.seen.add(metadata.urn);
      this.done.add(metadata.urn);
    }
  }

  line(): string {
    const total = Math.max(this.seen.size, this.expected, this.done.size);
    const elapsed = Math.round((Date.now() - this.started) / 1000);
    return `${this.done.size}/${total} resources${this.current ? ` · ${this.current}` : ''} · ${elapsed}s`;
  }
}

/** The readable end of a URN: its type's last part and its name. */
function nameOf(urn: string): string {
  const parts = urn.split('::');
  const type = parts[2]?.split('$').pop() ?? '';
  return `${type.split(':').pop()} ${parts[3] ?? ''}`.trim();
}

/** One plain line for an event, for logs. */
export function plainLine(event: StreamEvent): string {
  const payload = event.payload as { metadata?: ResourceMetadata; message?: string; severity?: string; status?: string; error?: string } | null;
  const detail = payload?.metadata?.urn ? `${payload.metadata.op ?? ''} ${payload.metadata.urn}`.trim()
    : payload?.message ? `${payload.severity ?? ''} ${payload.message.trim()}`.trim()
      : event.type === 'result' ? `${payload?.status ?? ''}${payload?.error ? `: ${payload.error}` : ''}` : '';
  return `[${event.id}] ${event.type}${detail ? ` ${detail}` : ''}`;
}
