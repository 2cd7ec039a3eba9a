// In-process wake-ups: when this process appends events to an operation or changes its
// state, waiters (event streams, long polls, the queue) wake at once instead of at their next
// poll. Changes made by other processes are still seen, at the next poll.
import { EventEmitter } from 'node:events';

export class OperationSignals {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0); // one per open stream; bounded by connections, not by code
  }

  notify(operationId: string): void {
    this.emitter.emit(operationId);
  }

  /** Resolves at the next notify for the operation, or after `ms`, or when `signal` aborts. */
  wait(operationId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(operationId, done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.emitter.once(operationId, done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
