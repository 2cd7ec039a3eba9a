// Runs one claimed operation through the engine: keeps its lease alive, turns a cancel request
// into exactly one abort (one SIGINT to the CLI), records events and output, and writes the
// final state. The lease is released in `finally` whatever happens.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { EngineFailure, type Engine, type EngineResult } from '../engine/types.js';
import type { OperationStore, FinishFields } from '../store/operation-store.js';
import { EventRecorder } from './event-recorder.js';
import type { OperationSignals } from './operation-signals.js';
import type { Operation } from './operation.js';

export interface RunnerOptions {
  owner: string;
  leaseMs: number;
  now?: () => number;
}

export class OperationRunner {
  private readonly now: () => number;

  constructor(
    private readonly store: OperationStore,
    private readonly engine: Engine,
    private readonly signals: OperationSignals,
    private readonly options: RunnerOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Runs the operation to its end. `stop` aborts it from outside (shutdown). */
  async run(operation: Operation, log: Logger, stop: AbortSignal): Promise<void> {
    const { owner, leaseMs } = this.options;
    const abort = new AbortController();
    const cancel = (why: string) => {
      if (abort.signal.aborted) return; // one SIGINT only: a second may orphan resources
      log.info({ why }, 'cancelling operation');
      abort.abort();
    };
    const onStop = () => cancel('service shutting down');
    stop.addEventListener('abort', onStop, { once: true });
    if (stop.aborted) onStop();

    let leaseLost = false;
    const heartbeat = setInterval(async () => {
      try {
        const lease = await this.store.renewLease(operation.id, owner, this.now() + leaseMs);
        if (!lease.held) {
          leaseLost = true;
          cancel('lease lost');
        } else if (lease.cancelRequested) {
          cancel('cancel requested');
        }
      } catch (error) {
        log.warn({ err: error }, 'lease renewal failed');
      }
    }, Math.max(250, Math.floor(leaseMs / 3)));

    const recorder = new EventRecorder(operation.id, this.store, this.signals, log);
    let fields: FinishFields;
    try {
      await this.store.recordEngine(operation.id, owner, {
        pulumiVersion: this.engine.version, host: hostname(), pid: process.pid,
        warnings: await this.pendingOperationWarnings(operation, log),
      });
      const result: EngineResult = await this.engine.run({
        environment: operation.environment,
        type: operation.type,
        scope: operation.scope,
        message: operation.message ?? undefined,
        operationId: operation.id,
        signal: abort.signal,
        onEvent: (event) => recorder.event(event),
        onOutput: (text) => recorder.text(text),
      });
      fields = { status: 'succeeded', summary: result.summary, outputs: result.outputs, resourceCount: result.resourceCount };
    } catch (error) {
      const failure = error instanceof EngineFailure ? error : new EngineFailure('engine_failed', 'the operation failed');
      if (!(error instanceof EngineFailure)) log.error({ err: error }, 'operation failed unexpectedly');
      fields = failure.reason === 'cancelled' || abort.signal.aborted
        ? { status: 'cancelled', error: 'the operation was cancelled' }
        : { status: 'failed', error: `${failure.reason}: ${failure.message}` };
    } finally {
      clearInterval(heartbeat);
      stop.removeEventListener('abort', onStop);
      await recorder.flush();
    }
    if (leaseLost) {
      log.warn('lease lost: another process has already ended this operation');
    } else if (!(await this.store.finish(operation.id, owner, fields, this.now()))) {
      log.warn('operation was no longer ours to finish');
    }
    log.info({ status: fields.status }, 'operation finished');
    this.signals.notify(operation.id);
  }

  /**
   * A dead engine can leave half-done steps in the state; the next operation says so. Only
   * looked for after an interrupted or failed operation: reading the state costs a CLI run.
   */
  private async pendingOperationWarnings(operation: Operation, log: Logger): Promise<string[]> {
    const previous = await this.store.lastFinishedStatus(operation.environment);
    if (previous !== 'interrupted' && previous !== 'failed') return [];
    try {
      const pending = await this.engine.pendingOperations(operation.environment);
      return pending.map((p) => `an earlier run left a pending ${p.type} on ${p.urn}`);
    } catch (error) {
      log.debug({ err: error }, 'could not read pending operations');
      return [];
    }
  }
}
