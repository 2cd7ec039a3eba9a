// Buffers one operation's engine events and text output and writes them in batches: the engine
// can emit hundreds of events a second, and one insert per event would make the database the
// bottleneck. Waiters are woken after each batch lands. The engine's debug diagnostics are
// dropped unless the operation (or the service) asks for them: they are SDK chatter
// ("Registering resource...") that buries what a user needs to see.
import type { Logger } from 'pino';
import type { EngineEvent } from '../engine/types.js';
import type { EventLog } from '../store/event-log.js';
import type { OperationSignals } from './operation-signals.js';
import type { OperationEvent } from './operation.js';

const FLUSH_MS = 25;
const MAX_BATCH = 200;

export function isDebugDiagnostic(event: EngineEvent): boolean {
  return event.type === 'diagnostic' && (event.payload as { severity?: string } | null)?.severity === 'debug';
}

export class EventRecorder {
  private sequence = 0;
  private chunk = 0;
  private events: OperationEvent[] = [];
  private output = '';
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly operationId: string,
    private readonly log: EventLog,
    private readonly signals: OperationSignals,
    private readonly logger: Logger,
    private readonly options: { keepDebug: boolean; announce?: (operationId: string) => void },
  ) {}

  event(event: EngineEvent): void {
    if (!this.options.keepDebug && isDebugDiagnostic(event)) return;
    this.events.push({ sequence: ++this.sequence, type: event.type, payload: event.payload });
    this.flushSoon(this.events.length >= MAX_BATCH ? 0 : FLUSH_MS);
  }

  text(text: string): void {
    this.output += text;
    this.flushSoon(FLUSH_MS);
  }

  /** Writes everything buffered; resolves when it is in the database. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const events = this.events;
    const output = this.output;
    this.events = [];
    this.output = '';
    // Batches are written one after another so sequences land in order.
    this.writing = this.writing.then(async () => {
      try {
        if (events.length) await this.log.appendEvents(this.operationId, events);
        if (output) await this.log.appendOutput(this.operationId, ++this.chunk, output);
      } catch (error) {
        this.logger.error({ err: error }, 'could not record engine events');
      }
      if (events.length || output) {
        this.signals.notify(this.operationId);
        this.options.announce?.(this.operationId);
      }
    });
    return this.writing;
  }

  private flushSoon(ms: number): void {
    if (this.timer && ms > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), ms);
  }
}
