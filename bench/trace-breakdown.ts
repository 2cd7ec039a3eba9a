// Where one update's time goes, end to end: the client's own clock (POST, 202, result), the
// runner's marks (logged with the operation's end, src/operations/operation-timeline.ts) and
// the CLI's OpenTelemetry trace (`--otel-traces`, which the CLI, its language host and its
// plugins write to one file), all on the same wall clock. Each phase is the median over the
// rounds of the time between two of those points.
import { existsSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { median } from './measure.js';

/** One span of the CLI's trace, in epoch milliseconds. */
export interface Span {
  name: string;
  service: string;
  start: number;
  end: number;
}

/** The spans of an OTLP JSON file: one ExportTraceServiceRequest per line. */
export function readSpans(file: string): Span[] {
  if (!existsSync(file)) throw new Error(`the CLI wrote no trace at ${file}`);
  const spans: Span[] = [];
  const ms = (nanos: string) => Number(BigInt(nanos) / 1000n) / 1000;
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const request = JSON.parse(line) as { resourceSpans: Array<{ resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: Array<{ name: string; startTimeUnixNano: string; endTimeUnixNano: string }> }> }> };
    for (const resource of request.resourceSpans) {
      const service = resource.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
      for (const scope of resource.scopeSpans) for (const s of scope.spans) spans.push({ name: s.name, service, start: ms(s.startTimeUnixNano), end: ms(s.endTimeUnixNano) });
    }
  }
  return spans;
}

/** Every log record the service writes, kept for the benchmark to read its operations' timelines. */
export class LogCapture extends Writable {
  private readonly timelines = new Map<string, Record<string, number>>();
  private partial = '';

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    const lines = (this.partial + chunk.toString()).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const record = JSON.parse(line) as { operationId?: string; timeline?: Record<string, number> };
      if (record.timeline && record.operationId) this.timelines.set(record.operationId, record.timeline);
    }
    done();
  }

  timeline(operationId: string): Record<string, number> {
    const found = this.timelines.get(operationId);
    if (!found) throw new Error(`operation ${operationId} logged no timeline`);
    return found;
  }
}

/** What the client saw of one update, in epoch milliseconds. */
export interface ClientTimes {
  id: string;
  posted: number;
  accepted: number;
  result: number;
}

type Points = Record<string, number>;

/** The points of one round, from the client, the runner and the trace. */
export function points(client: ClientTimes, timeline: Record<string, number>, spans: Span[]): Points {
  const first = (name: string) => {
    const found = spans.filter((s) => s.name === name).sort((a, b) => a.start - b.start)[0];
    if (!found) throw new Error(`the trace has no ${name} span`);
    return found;
  };
  const root = first('pulumi');
  const run = first('pulumirpc.LanguageRuntime/Run');
  const registrations = spans.filter((s) => s.name === 'pulumirpc.ResourceMonitor/RegisterResource');
  return {
    posted: client.posted, accepted: client.accepted, result: client.result, ...timeline,
    cliRoot: root.start, cliRootEnd: root.end,
    languageHost: first('newPlugin').start, runStart: run.start, runEnd: run.end,
    firstRegistration: Math.min(...registrations.map((s) => s.start)),
  };
}

/** The phases of the breakdown, each between two points; the last column says who pays for it. */
export const PHASES: Array<[string, string, string, 'Stackpilot' | 'engine']> = [
  // The 202 and the claim race: the POST wakes the queue, which often claims the operation
  // before the reply reaches the client. So the phases run from the POST, and the 202 is apart.
  ['request and claim: POST until the runner has the operation', 'posted', 'runnerStarted', 'Stackpilot'],
  ['workspace: source checked, workspace written, CLI spawned', 'runnerStarted', 'cliSpawned', 'Stackpilot'],
  ['CLI start: Go runtime, flags, until its root span', 'cliSpawned', 'cliRoot', 'engine'],
  ['CLI: backend, state, plugins, language host, until Run', 'cliRoot', 'runStart', 'engine'],
  ['program start: Node, module loading, until the first resource', 'runStart', 'firstRegistration', 'engine'],
  ['engine steps: resources registered, diffed, applied', 'firstRegistration', 'runEnd', 'engine'],
  ['engine end: snapshot written, summary', 'runEnd', 'cliRootEnd', 'engine'],
  ['CLI exit and the event stream drained', 'cliRootEnd', 'engineEnded', 'engine'],
  ['state backup', 'engineEnded', 'backedUp', 'Stackpilot'],
  ['final write: status, outbox, in one transaction', 'backedUp', 'finished', 'Stackpilot'],
  ['result event: the final write until the client reads it', 'finished', 'result', 'Stackpilot'],
];

/** Median milliseconds of each phase over the rounds, the median total, and when the 202 came. */
export function breakdown(rounds: Points[]): { phases: Array<{ phase: string; who: string; ms: number }>; total: number; accepted: number } {
  return {
    accepted: median(rounds.map((p) => p.accepted! - p.posted!)),
    phases: PHASES.map(([phase, from, to, who]) => ({ phase, who, ms: median(rounds.map((p) => p[to]! - p[from]!)) })),
    total: median(rounds.map((p) => p.result! - p.posted!)),
  };
}
