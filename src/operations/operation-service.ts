// What callers can do with operations: queue, read, list, wait for, cancel, and follow their
// events. Every call comes with an Actor, which governance authorises and audits; an
// operation the actor cannot see does not exist for it (404, whatever it asked).
import type { Kysely } from 'kysely';
import type { Actor } from '../auth/actor.js';
import type { Action, Governance } from '../auth/governance.js';
import type { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { ConflictError, InvalidInputError, NotFoundError, TooManyRequestsError, UnprocessableError } from '../errors.js';
import type { EventLog } from '../store/event-log.js';
import { isUniqueViolation, type NewOperation, type OperationRepository } from '../store/operation-repository.js';
import type { Page } from '../store/rows.js';
import type { Database } from '../store/schema.js';
import { FinishedOperationCache } from './finished-operation-cache.js';
import { kindOf } from './operation-kinds.js';
import type { OperationSignals } from './operation-signals.js';
import { RESULT_EVENT, isFinished, isSettled, type Operation, type OperationEvent, type OperationSpec, type OperationType, type Scope } from './operation.js';
import type { ConfigChange, ConfigVersions } from '../releases/config-versions.js';
import type { ProgramSnapshots } from '../releases/program-snapshots.js';

export interface OperationRequest {
  type: OperationType;
  scope: Scope;
  message?: string;
  /** Keep the engine's debug diagnostics in this operation's events. */
  debug?: boolean;
  /** Run with this configuration version (default: the latest). */
  configVersion?: number;
  /** Make a new configuration version from the latest and run with it, in one transaction. */
  config?: ConfigChange;
  /** Run now whatever the maintenance window says (an admin with a second factor, with a reason). */
  bypassWindow?: { reason?: string };
}

/** An operation to queue inside a caller's transaction (a promotion, a rollback). */
export interface QueueInput {
  type: OperationType;
  spec: OperationSpec;
  message?: string;
  configVersion: number;
  programDigest: string;
  /** Run now whatever the maintenance window says (an admin with a second factor, with a reason). */
  bypassWindow?: { reason?: string };
}

/** What maintenance windows decide for an operation about to be queued. */
export interface Hold {
  /** Its kind waits for windows and nobody bypassed them: it is claimed only while its window is open. */
  held: boolean;
  /** The window is shut: scheduled, not queued. */
  schedule?: { notBefore: number | null; upcomingNoticeAt: number | null };
  spec?: Pick<OperationSpec, 'bypassWindow'>;
}

/** What maintenance windows decide for an operation, inside the transaction that queues it (calendar/). */
export interface WindowGate {
  hold(tx: Kysely<Database>, actor: Actor, environment: string, type: OperationType, bypass: { reason?: string } | undefined): Promise<Hold>;
  /** The transaction scheduled `operation` (its window is shut): its first advance notice. */
  scheduled(tx: Kysely<Database>, operation: Operation): Promise<void>;
}

export interface OperationServiceOptions {
  pollMs: number;
  /** Event streams one principal may hold open at once (in this process). */
  maxStreamsPerPrincipal: number;
  /** How often an open stream checks that its credential is still valid. */
  revalidateMs: number;
  /** Wakes the local queue after an enqueue (other replicas hear of it through the outbox). */
  onEnqueued(): void;
}

export class OperationService {
  private readonly finished = new FinishedOperationCache();
  private readonly streams = new Map<string, number>();

  constructor(
    private readonly governance: Governance,
    private readonly operations: OperationRepository,
    private readonly eventLog: EventLog,
    private readonly catalog: EnvironmentCatalog,
    private readonly signals: OperationSignals,
    private readonly versions: ConfigVersions,
    private readonly programs: ProgramSnapshots,
    private readonly windows: WindowGate,
    private readonly options: OperationServiceOptions,
  ) {}

  /** Queues an operation. A retry with the same Idempotency-Key returns the first one (created: false). */
  async enqueue(actor: Actor, environment: string, request: OperationRequest, idempotencyKey?: string): Promise<{ operation: Operation; created: boolean }> {
    const kind = kindOf(request.type);
    const action: Action = {
      name: 'createOperation', target: `environment:${environment}`, environment,
      permission: kind.permission, secondFactor: kind.secondFactor,
    };
    await this.governance.authorize(actor, action);
    this.catalog.require(environment);
    if (request.config && request.configVersion !== undefined) {
      throw new InvalidInputError('config_and_version', 'give either configVersion or config changes, not both', { field: 'config' });
    }
    const input: NewOperation = {
      environment, type: request.type, message: request.message, requestedBy: actor.principal, idempotencyKey,
      // The bypass is part of the request an Idempotency-Key replays (hold() checks its reason).
      spec: { scope: request.scope, ...(request.debug ? { debug: true } : {}), ...(request.bypassWindow ? { bypassWindow: { reason: request.bypassWindow.reason?.trim() ?? '' } } : {}) },
      configVersion: 0, programDigest: '', request: { config: request.config ?? null, configVersion: request.configVersion ?? null },
    };
    const replay = () => (idempotencyKey ? this.operations.byIdempotencyKey({ ...input, idempotencyKey }) : undefined);
    const earlier = await replay();
    if (earlier) return { operation: earlier, created: false };
    const programDigest = this.programs.current();
    // A program that does not compile is refused here, naming its file and line, rather than
    // queued to fail in the engine; a refresh or destroy does not start it, so it goes on.
    const broken = kind.runsProgram ? this.programs.buildProblem(programDigest) : undefined;
    if (broken) throw new UnprocessableError('program_build_failed', broken.message, { errors: broken.errors });
    await this.versions.importFile(environment);
    // Secrets are encrypted (by the CLI) before the transaction that stores them.
    const prepared = request.config ? await this.versions.prepare(environment, request.config) : undefined;
    try {
      const operation = await this.governance.act(actor, action, async (tx) => {
        const configVersion = prepared
          ? (await this.versions.create(tx, environment, await this.versions.latest(environment, tx), prepared, actor.principal)).version
          : request.configVersion !== undefined
            ? (await this.versions.version(environment, request.configVersion, tx)).version
            : (await this.versions.latest(environment, tx)).version;
        return this.place(tx, actor, { ...input, configVersion, programDigest }, request.bypassWindow);
      });
      this.options.onEnqueued();
      return { operation, created: true };
    } catch (error) {
      // Two retries raced: the unique index let one in; answer with that one.
      const winner = isUniqueViolation(error) ? await replay() : undefined;
      if (winner) return { operation: winner, created: false };
      throw error;
    }
  }

  /** Queues an operation inside the caller's transaction (its action is authorised and audited by the caller). */
  async queue(tx: Kysely<Database>, actor: Actor, environment: string, input: QueueInput): Promise<Operation> {
    const { bypassWindow, ...rest } = input;
    return this.place(tx, actor, { environment, requestedBy: actor.principal, ...rest }, bypassWindow);
  }

  /** Queues the operation, or schedules it when its environment's maintenance window is shut. */
  private async place(tx: Kysely<Database>, actor: Actor, input: NewOperation, bypass: { reason?: string } | undefined): Promise<Operation> {
    const hold = await this.windows.hold(tx, actor, input.environment, input.type, bypass);
    const operation = await this.operations.insert(tx, {
      ...input, spec: { ...input.spec, ...hold.spec }, held: hold.held, ...(hold.schedule ? { schedule: hold.schedule } : {}),
    }, Date.now());
    if (operation.status === 'scheduled') await this.windows.scheduled(tx, operation);
    return operation;
  }

  /** Tells the local queue that work arrived (after the transaction that queued it committed). */
  kick(): void {
    this.options.onEnqueued();
  }

  async get(actor: Actor, id: string): Promise<Operation> {
    return this.visible(actor, id, 'getOperation');
  }

  /** A page of an environment's operations, newest first; finished ones come from a cache. */
  async list(actor: Actor, environment: string, limit: number, cursor?: string): Promise<Page<Operation>> {
    await this.governance.authorize(actor, { name: 'listOperations', target: `environment:${environment}`, environment, permission: 'read' });
    this.catalog.require(environment);
    const page = await this.operations.listIds(environment, limit, cursor);
    const known = page.ids.map((id) => this.finished.get(id));
    const missing = page.ids.filter((_, i) => known[i] === undefined);
    const fresh = new Map<string, Operation>();
    for (const operation of await this.operations.getMany(missing)) {
      fresh.set(operation.id, operation);
      if (isFinished(operation.status)) this.finished.set(operation);
    }
    const items = page.ids.map((id, i) => known[i] ?? fresh.get(id)).filter((o) => o !== undefined);
    return { items, nextCursor: page.nextCursor };
  }

  /**
   * A queued (or scheduled) operation leaves the queue at once; a running one is flagged, and its runner sends
   * the engine one SIGINT when it next renews its lease. A finished one cannot be cancelled.
   */
  async cancel(actor: Actor, id: string): Promise<Operation> {
    const operation = await this.visible(actor, id, 'cancelOperation');
    const action: Action = { name: 'cancelOperation', target: `operation:${id}`, environment: operation.environment, permission: 'operate' };
    const cancelled = await this.governance.act(actor, action, (tx) => this.cancelIn(tx, operation));
    this.signals.notify(id);
    return cancelled;
  }

  private async cancelIn(tx: Kysely<Database>, operation: Operation): Promise<Operation> {
    if (operation.status === 'queued' || operation.status === 'scheduled') {
      return this.operations.transition(operation.id, {
        from: ['queued', 'scheduled'], to: 'cancelled', set: { cancel_requested: 1, error: 'the operation was cancelled before it started', error_code: 'cancelled' },
      }, tx).catch(async (error: unknown) => {
        if (error instanceof ConflictError) return this.cancelIn(tx, (await this.operations.get(operation.id, tx))!);
        throw error;
      });
    }
    if (operation.status === 'awaiting_approval') {
      // No engine runs while a plan waits: cancelling it is only a change of state.
      return this.operations.transition(operation.id, {
        from: 'awaiting_approval', to: 'cancelled', set: { cancel_requested: 1, error: 'the operation was cancelled while it awaited approval', error_code: 'cancelled' },
      }, tx);
    }
    if (operation.status === 'running' || operation.status === 'recovering') {
      await this.operations.flagCancel(operation.id, tx);
      return (await this.operations.get(operation.id, tx))!;
    }
    throw new ConflictError('operation_finished', `operation ${operation.id} has already finished (${operation.status})`, { operationStatus: operation.status });
  }

  /** Long poll: returns when the operation has finished, waits for approval, or `seconds` have passed. */
  async waitForEnd(actor: Actor, id: string, seconds: number, signal?: AbortSignal): Promise<Operation> {
    await this.visible(actor, id, 'getOperation');
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const operation = (await this.operations.get(id))!;
      const left = deadline - Date.now();
      if (isSettled(operation.status) || left <= 0 || signal?.aborted) return operation;
      await this.signals.wait(id, Math.min(left, this.options.pollMs), signal);
    }
  }

  /**
   * Opens a stream of the operation's events after `afterSequence`, live: stored ones first,
   * then new ones as they land, ending with the `result` event. Reconnecting with the last
   * sequence seen gives the rest with no gap and no duplicate, whichever process runs the
   * operation; a finished operation's stream resumed at or past its end ends at once. A
   * principal holds a bounded number of streams at once (429 past it), and a stream ends when
   * `stillValid` says its credential no longer is (checked every revalidateMs).
   */
  async openEvents(actor: Actor, id: string, afterSequence: number, signal: AbortSignal, stillValid: () => Promise<boolean>): Promise<AsyncGenerator<OperationEvent>> {
    await this.visible(actor, id, 'streamOperationEvents');
    const open = this.streams.get(actor.principal) ?? 0;
    if (open >= this.options.maxStreamsPerPrincipal) {
      throw new TooManyRequestsError('too_many_streams', `${actor.principal} already follows ${open} event streams: close one first`, 1);
    }
    this.streams.set(actor.principal, open + 1);
    const release = () => {
      const left = (this.streams.get(actor.principal) ?? 1) - 1;
      if (left > 0) this.streams.set(actor.principal, left);
      else this.streams.delete(actor.principal);
    };
    const ended = new AbortController();
    signal.addEventListener('abort', () => ended.abort(), { once: true });
    const check = setInterval(() => {
      void stillValid().then((valid) => valid || ended.abort(), () => ended.abort());
    }, this.options.revalidateMs);
    const stream = this.events(id, afterSequence, ended.signal);
    return (async function* () {
      try {
        yield* stream;
      } finally {
        clearInterval(check);
        release();
      }
    })();
  }

  private async *events(id: string, afterSequence: number, signal: AbortSignal): AsyncGenerator<OperationEvent> {
    let after = afterSequence;
    while (!signal.aborted) {
      const batch = await this.eventLog.events(id, after);
      for (const event of batch) {
        yield event;
        after = event.sequence;
        if (event.type === RESULT_EVENT) return;
      }
      if (batch.length) continue;
      // Nothing after this point, and the operation has finished: nothing more will come.
      if (isFinished((await this.operations.get(id))!.status) && !(await this.eventLog.events(id, after, 1)).length) return;
      await this.signals.wait(id, this.options.pollMs, signal);
    }
  }

  async output(actor: Actor, id: string): Promise<string> {
    await this.visible(actor, id, 'getOperationLog');
    return this.eventLog.output(id);
  }

  /** The operation, if the actor may read its environment; the same 404 otherwise. */
  private async visible(actor: Actor, id: string, name: string): Promise<Operation> {
    const operation = await this.operations.get(id);
    const notFound = () => new NotFoundError('operation_not_found', `no operation with id ${id}`);
    if (!operation) throw notFound();
    await this.governance.authorize(actor, { name, target: `operation:${id}`, environment: operation.environment, permission: 'read', hidden: notFound });
    return operation;
  }
}
