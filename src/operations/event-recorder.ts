// Records one operation's engine events and text output, in batches: the engine can emit
// hundreds of events a second, and one insert per event would make the database the
// bottleneck. Nothing is dropped: a batch the database refuses is kept and retried with
// backoff until it lands, in order; while the database is away, batches beyond a memory
// bound go to a spool file in the data dir. flush() resolves only when everything recorded so
// far is stored, so the final status never lands before an earlier event.
//
// The engine's debug diagnostics are dropped unless the operation (or the service) asks for
// them: they are SDK chatter ("Registering resource...") that buries what a user needs to see.
import type { Logger } from 'pino';
import type { EngineEvent } from '../engine/types.js';
import type { EventBatch, EventLog } from '../store/event-log.js';
import { SpillQueue } from './spill-queue.js';
import type { OperationSignals } from './operation-signals.js';
import type { OperationEvent } from './operation.js';

const FLUSH_MS = 25;
const MAX_BATCH = 200;
const FIRST_RETRY_MS = 100;
const LAST_RETRY_MS = 5000;

export function isDebugDiagnostic(event: EngineEvent): boolean {
  return event.type === 'diagnostic' && (event.payload as { severity?: string } | null)?.severity === 'debug';
}

export interface RecorderOptions {
  keepDebug: boolean;
  /** Where batches wait, beyond the memory bound, while the database is away. */
  spoolFile: string;
  /** Tells other replicas that events landed (PostgreSQL NOTIFY). */
  announce?: (operationId: string) => void;
  /** Where the stream stands already: an approved plan's apply continues its plan's stream. */
  after?: { sequence: number; chunk: number };
}

export class EventRecorder {
  private sequence = 0;
  private chunk = 0;
  private events: OperationEvent[] = [];
  private output = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly queue: SpillQueue<EventBatch>;
  private writing: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly operationId: string,
    private readonly log: EventLog,
    private readonly signals: OperationSignals,
    private readonly logger: Logger,
    private readonly options: RecorderOptions,
  ) {
    this.queue = new SpillQueue(options.spoolFile);
    this.sequence = options.after?.sequence ?? 0;
    this.chunk = options.after?.chunk ?? 0;
  }

  event(event: EngineEvent): void {
    if (!this.options.keepDebug && isDebugDiagnostic(event)) return;
    this.events.push({ sequence: ++this.sequence, type: event.type, payload: event.payload });
    this.flushSoon(this.events.length >= MAX_BATCH ? 0 : FLUSH_MS);
  }

  text(text: string): void {
    this.output += text;
    this.flushSoon(FLUSH_MS);
  }

  /** Queues everything buffered; resolves when everything recorded so far is in the database. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.events.length || this.output) {
      this.queue.push({ events: this.events, output: this.output ? { chunk: ++this.chunk, text: this.output } : undefined });
      this.events = [];
      this.output = '';
    }
    this.writing ??= this.drain().finally(() => (this.writing = undefined));
    return this.writing;
  }

  private async drain(): Promise<void> {
    let wait = FIRST_RETRY_MS;
    for (let batch = this.queue.peek(); batch; batch = this.queue.peek()) {
      try {
        await this.log.appendBatch(this.operationId, batch);
      } catch (error) {
        if (!this.failing) this.logger.warn({ err: error }, 'could not record engine events yet: keeping them and retrying');
        this.failing = true;
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, LAST_RETRY_MS);
        continue;
      }
      if (this.failing) this.logger.info('recording engine events again');
      this.failing = false;
      wait = FIRST_RETRY_MS;
      this.queue.shift();
      this.signals.notify(this.operationId);
      this.options.announce?.(this.operationId);
    }
    this.queue.close();
  }

  private flushSoon(ms: number): void {
    if (this.timer && ms > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), ms);
  }
}
