// What the API can do with operations: queue, read, list, wait for, cancel, and follow their
// events. Knows nothing of HTTP; routes call it.
import type { OperationType, Scope } from '../engine/types.js';
import type { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { NotFoundError } from '../errors.js';
import { RESULT_EVENT, type OperationStore } from '../store/operation-store.js';
import { FinishedOperationCache } from './finished-operation-cache.js';
import type { OperationSignals } from './operation-signals.js';
import { isFinished, type Operation, type OperationEvent } from './operation.js';

export interface OperationRequest {
  type: OperationType;
  scope: Scope;
  message?: string;
}

export interface OperationServiceOptions {
  pollMs: number;
  /** Wakes the local queue after an enqueue; other processes find the work at their next poll. */
  onEnqueued(): void;
}

export class OperationService {
  private readonly finished = new FinishedOperationCache();

  constructor(
    private readonly store: OperationStore,
    private readonly catalog: EnvironmentCatalog,
    private readonly signals: OperationSignals,
    private readonly options: OperationServiceOptions,
  ) {}

  async enqueue(environment: string, request: OperationRequest, requestedBy: string, idempotencyKey?: string) {
    this.catalog.require(environment);
    const result = await this.store.enqueue({ environment, ...request, requestedBy, idempotencyKey }, Date.now());
    if (result.created) this.options.onEnqueued();
    return result;
  }

  async get(id: string): Promise<Operation> {
    const operation = await this.store.get(id);
    if (!operation) throw new NotFoundError('operation_not_found', `no operation with id ${id}`);
    return operation;
  }

  /** The environment an operation acts on, or undefined for an unknown id. */
  async environmentOf(id: string): Promise<string | undefined> {
    return (await this.store.get(id))?.environment;
  }

  /**
   * A page of an environment's operations, newest first, already as JSON: finished operations
   * come from the cache, only the others (and ones not seen yet) are read and serialised.
   */
  async listJson(environment: string, limit: number, cursor?: string): Promise<string> {
    this.catalog.require(environment);
    const page = await this.store.listIds(environment, limit, cursor);
    const missing = page.ids.filter((id) => this.finished.get(id) === undefined);
    const fresh = new Map<string, string>();
    for (const operation of await this.store.getMany(missing)) {
      const json = JSON.stringify(operation);
      fresh.set(operation.id, json);
      if (isFinished(operation.status)) this.finished.set(operation.id, json);
    }
    const items = page.ids.map((id) => this.finished.get(id) ?? fresh.get(id)).filter((json) => json !== undefined);
    return `{"items":[${items.join(',')}],"nextCursor":${JSON.stringify(page.nextCursor)}}`;
  }

  async cancel(id: string): Promise<Operation> {
    const operation = await this.store.requestCancel(id, Date.now());
    if (!operation) throw new NotFoundError('operation_not_found', `no operation with id ${id}`);
    this.signals.notify(id);
    return operation;
  }

  /** Long poll: returns when the operation has finished or `seconds` have passed. */
  async waitForEnd(id: string, seconds: number, signal?: AbortSignal): Promise<Operation> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const operation = await this.get(id);
      const left = deadline - Date.now();
      if (isFinished(operation.status) || left <= 0 || signal?.aborted) return operation;
      await this.signals.wait(id, Math.min(left, this.options.pollMs), signal);
    }
  }

  /**
   * The operation's events after `afterSequence`, live: stored ones first, then new ones as
   * they land, ending with the `result` event. Reconnecting with the last sequence seen gives
   * the rest with no gap and no duplicate, whichever process runs the operation.
   */
  async *events(id: string, afterSequence: number, signal: AbortSignal): AsyncGenerator<OperationEvent> {
    await this.get(id);
    let after = afterSequence;
    while (!signal.aborted) {
      const batch = await this.store.events(id, after);
      for (const event of batch) {
        yield event;
        after = event.sequence;
        if (event.type === RESULT_EVENT) return;
      }
      if (!batch.length) await this.signals.wait(id, this.options.pollMs, signal);
    }
  }

  async output(id: string): Promise<string> {
    await this.get(id);
    return this.store.output(id);
  }
}
