// Operation rows, in SQLite or PostgreSQL through one interface. Every status change goes
// through transition(): it checks the change against the domain's transition table, applies
// it only from the expected state (and lease owner), ends a finished operation's event stream
// with its result, and writes the matching outbox event, all in one transaction. A change the
// row no longer allows is a ConflictError, never a silent `false`.
import { createHash, randomUUID } from 'node:crypto';
import type { Kysely, Selectable, UpdateObject } from 'kysely';
import { ConflictError, UnprocessableError } from '../errors.js';
import {
  FINISHED_STATUSES, HOLDING_STATUSES, TRANSITIONS, isFinished,
  type ChangeSummary, type ErrorCode, type Operation, type OperationSpec, type OperationStatus, type OperationType, type PlanView,
} from '../operations/operation.js';
import { KeyedCoalescedReads } from './coalesced-read.js';
import { appendResult } from './event-log.js';
import type { OutboxRepository } from './outbox-repository.js';
import { decodeCursor, isoTime, keysetPage } from './rows.js';
import type { Database, OperationsTable } from './schema.js';

type Row = Selectable<OperationsTable>;

export interface NewOperation {
  environment: string;
  type: OperationType;
  spec: OperationSpec;
  message?: string;
  requestedBy: string;
  idempotencyKey?: string;
  configVersion: number;
  programDigest: string;
  /** What the caller asked for beyond the spec (a configuration change...), for Idempotency-Key replays. */
  request?: unknown;
  /** Maintenance windows hold it: it is claimed only while its environment's window is open. */
  held?: boolean;
  /** Scheduled rather than queued: its window is shut until notBefore (null: no opening is coming). */
  schedule?: { notBefore: number | null; upcomingNoticeAt: number | null };
}

export interface Transition {
  from: OperationStatus | readonly OperationStatus[];
  to: OperationStatus;
  /** Applies only while this process holds the operation's lease. */
  owner?: string;
  /** Applies only while the lease still ends at this time (nobody renewed it meanwhile). */
  leaseExpiresAt?: number;
  /** Other columns the change sets (lease, results...). */
  set?: UpdateObject<Database, 'operations'>;
  now?: number;
  /** More writes that commit with the change (a release, an outbox event), given the changed operation. */
  also?: (tx: Kysely<Database>, operation: Operation) => Promise<void>;
}

export interface IdPage {
  readonly ids: readonly string[];
  readonly nextCursor: string | null;
}

export class OperationRepository {
  private readonly pages: KeyedCoalescedReads<IdPage>;

  /** `gatherReads`: on SQLite, whose queries run on the event loop, concurrent pages wait a turn of it to share one query. */
  constructor(private readonly db: Kysely<Database>, private readonly outbox: OutboxRepository, options: { gatherReads?: boolean } = {}) {
    this.pages = new KeyedCoalescedReads<IdPage>(options.gatherReads);
  }

  /** Queues (or schedules) an operation inside `tx`, announcing it in the outbox. */
  async insert(tx: Kysely<Database>, input: NewOperation, now: number): Promise<Operation> {
    const row = {
      id: randomUUID(),
      environment: input.environment,
      type: input.type,
      scope: input.spec.scope,
      spec: JSON.stringify(input.spec),
      message: input.message ?? null,
      status: input.schedule ? 'scheduled' : 'queued',
      held_by_windows: input.held ? 1 : 0,
      not_before: input.schedule?.notBefore ?? null,
      upcoming_notice_at: input.schedule?.upcomingNoticeAt ?? null,
      requested_by: input.requestedBy,
      idempotency_key: input.idempotencyKey ?? null,
      request_hash: input.idempotencyKey ? requestHash(input) : null,
      queued_at: now,
      config_version: input.configVersion,
      program_digest: input.programDigest,
    };
    const inserted = await tx.insertInto('operations').values(row).returningAll().executeTakeFirstOrThrow();
    const scheduled = input.schedule ? { scheduled: true, notBefore: isoTime(input.schedule.notBefore) } : {};
    await this.outbox.append(tx, { kind: 'operation.queued', environment: input.environment, operationId: row.id, payload: { type: input.type, ...scheduled } }, now);
    return toOperation(inserted);
  }

  /**
   * The operation an earlier request with this Idempotency-Key created (keys are scoped to an
   * environment and a principal); the same key with another request is refused.
   */
  async byIdempotencyKey(input: NewOperation & { idempotencyKey: string }): Promise<Operation | undefined> {
    const row = await this.db.selectFrom('operations').selectAll().where('environment', '=', input.environment)
      .where('requested_by', '=', input.requestedBy).where('idempotency_key', '=', input.idempotencyKey).executeTakeFirst();
    if (!row) return undefined;
    if (row.request_hash !== requestHash(input)) {
      throw new UnprocessableError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request');
    }
    return toOperation(row);
  }

  async get(id: string, db: Kysely<Database> = this.db): Promise<Operation | undefined> {
    const row = await db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toOperation(row);
  }

  async getMany(ids: string[]): Promise<Operation[]> {
    if (!ids.length) return [];
    const rows = await this.db.selectFrom('operations').selectAll().where('id', 'in', ids).execute();
    return rows.map(toOperation);
  }

  /**
   * A page of ids, newest first: what a listing needs before it knows which rows to read. The
   * same page asked for by many at once is one query (each still gets a read that began after
   * it asked); the answer is shared, so it is never changed by its callers.
   */
  listIds(environment: string, limit: number, cursor?: string): Promise<IdPage> {
    return this.pages.current(`${environment}\n${limit}\n${cursor ?? ''}`, () => this.readIds(environment, limit, cursor));
  }

  private async readIds(environment: string, limit: number, cursor?: string): Promise<IdPage> {
    let query = this.db.selectFrom('operations').select(['seq', 'id']).where('environment', '=', environment);
    if (cursor !== undefined) query = query.where('seq', '<', decodeCursor(cursor));
    const page = keysetPage(await query.orderBy('seq', 'desc').limit(limit + 1).execute(), limit, (row) => row.id);
    return { ids: page.items, nextCursor: page.nextCursor };
  }

  async latest(environment: string): Promise<Operation | undefined> {
    const row = await this.db.selectFrom('operations').selectAll().where('environment', '=', environment)
      .orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row && toOperation(row);
  }

  /** The operation holding the stack (running, or being recovered), if any. */
  async holder(environment: string): Promise<Operation | undefined> {
    const row = await this.db.selectFrom('operations').selectAll()
      .where('environment', '=', environment).where('status', 'in', [...HOLDING_STATUSES]).executeTakeFirst();
    return row && toOperation(row);
  }

  async queuedCount(environment: string): Promise<number> {
    const row = await this.db.selectFrom('operations').select((eb) => eb.fn.countAll().as('n'))
      .where('environment', '=', environment).where('status', '=', 'queued').executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async lastFinishedStatus(environment: string): Promise<OperationStatus | undefined> {
    const row = await this.db.selectFrom('operations').select('status').where('environment', '=', environment)
      .where('status', 'in', [...FINISHED_STATUSES]).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row?.status as OperationStatus | undefined;
  }

  /** The last operation that learnt `column` (the stack's outputs, or its resource count). */
  async latestWith(environment: string, column: 'outputs' | 'resource_count'): Promise<Operation | undefined> {
    const row = await this.db.selectFrom('operations').selectAll().where('environment', '=', environment)
      .where(column, 'is not', null).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row && toOperation(row);
  }

  async recordEngine(id: string, owner: string, fields: { pulumiVersion: string; host: string; pid: number; warnings: string[] }): Promise<void> {
    await this.db.updateTable('operations')
      .set({ pulumi_version: fields.pulumiVersion, engine_host: fields.host, engine_pid: fields.pid, warnings: JSON.stringify(fields.warnings) })
      .where('id', '=', id).where('lease_owner', '=', owner).execute();
  }

  async recordCliPid(id: string, owner: string, pid: number): Promise<void> {
    await this.db.updateTable('operations').set({ engine_cli_pid: pid }).where('id', '=', id).where('lease_owner', '=', owner).execute();
  }

  /** Where an operation's engine ran: the host, and the pid of its CLI. */
  async engineOf(id: string): Promise<{ host: string | null; cliPid: number | null } | undefined> {
    const row = await this.db.selectFrom('operations').select(['engine_host', 'engine_cli_pid']).where('id', '=', id).executeTakeFirst();
    return row && { host: row.engine_host, cliPid: row.engine_cli_pid };
  }

  /** The operation waiting for approval on an environment (it holds the stack for mutations), if any. */
  async awaitingApproval(environment: string): Promise<Operation | undefined> {
    const row = await this.db.selectFrom('operations').selectAll()
      .where('environment', '=', environment).where('status', '=', 'awaiting_approval').executeTakeFirst();
    return row && toOperation(row);
  }

  /** Operations that have waited for approval since before `since`. */
  async awaitingSince(before: number): Promise<Operation[]> {
    const rows = await this.db.selectFrom('operations').selectAll()
      .where('status', '=', 'awaiting_approval').where('awaiting_since', '<', before).execute();
    return rows.map(toOperation);
  }

  /** Stores a saved plan file's content, in the transaction that makes its operation wait. */
  async savePlanFile(tx: Kysely<Database>, id: string, content: string): Promise<void> {
    await tx.insertInto('plan_files').values({ operation_id: id, content }).onConflict((oc) => oc.column('operation_id').doUpdateSet({ content })).execute();
  }

  async planFile(id: string): Promise<string | undefined> {
    return (await this.db.selectFrom('plan_files').select('content').where('operation_id', '=', id).executeTakeFirst())?.content;
  }

  /** Replaces an awaiting operation's plan view (its approvals grew), only while it still waits. */
  async updatePlan(tx: Kysely<Database>, id: string, plan: PlanView): Promise<void> {
    await tx.updateTable('operations').set({ plan: JSON.stringify(plan) }).where('id', '=', id).where('status', '=', 'awaiting_approval').execute();
  }

  /** Flags a running operation for cancellation; its runner sees the flag when it renews its lease. */
  async flagCancel(id: string, db: Kysely<Database> = this.db): Promise<void> {
    await db.updateTable('operations').set({ cancel_requested: 1 }).where('id', '=', id).execute();
  }

  /** The one way an operation's status changes. Runs in `tx` when given, else in its own transaction. */
  async transition(id: string, change: Transition, tx?: Kysely<Database>): Promise<Operation> {
    const from = typeof change.from === 'string' ? [change.from] : change.from;
    for (const state of from) {
      if (!TRANSITIONS[state].includes(change.to)) throw new Error(`illegal operation transition ${state} → ${change.to}`);
    }
    const apply = async (db: Kysely<Database>) => {
      const now = change.now ?? Date.now();
      const finished = isFinished(change.to);
      let query = db.updateTable('operations')
        .set({ ...change.set, status: change.to, ...(finished ? { finished_at: now, lease_owner: null, lease_expires_at: null } : {}) })
        .where('id', '=', id).where('status', 'in', from);
      if (change.owner !== undefined) query = query.where('lease_owner', '=', change.owner);
      if (change.leaseExpiresAt !== undefined) query = query.where('lease_expires_at', '=', change.leaseExpiresAt);
      const row = await query.returningAll().executeTakeFirst();
      if (!row) {
        const current = await this.get(id, db);
        throw new ConflictError('operation_state_changed', current
          ? `operation ${id} is ${current.status}: it cannot become ${change.to}`
          : `no operation with id ${id}`, { operationStatus: current?.status ?? null });
      }
      const operation = toOperation(row);
      if (finished) {
        await appendResult(db, id, { status: operation.status, summary: operation.summary, error: operation.error, errorCode: operation.errorCode });
        await this.outbox.append(db, {
          kind: 'operation.finished', environment: operation.environment, operationId: id,
          payload: { type: operation.type, status: operation.status, errorCode: operation.errorCode, summary: operation.summary },
        }, now);
      } else if (change.to === 'running') {
        await this.outbox.append(db, { kind: 'operation.started', environment: operation.environment, operationId: id, payload: { type: operation.type } }, now);
      }
      await change.also?.(db, operation);
      return operation;
    };
    return tx ? apply(tx) : this.db.transaction().execute(apply);
  }
}

function requestHash(input: NewOperation): string {
  const { environment, type, spec, message, requestedBy } = input;
  return createHash('sha256').update(JSON.stringify([environment, type, spec, message ?? null, requestedBy, input.request ?? null])).digest('hex');
}

export function toOperation(row: Row): Operation {
  return {
    id: row.id,
    environment: row.environment,
    type: row.type as OperationType,
    spec: row.spec ? JSON.parse(row.spec) : { scope: row.scope },
    message: row.message,
    status: row.status as OperationStatus,
    requestedBy: row.requested_by,
    queuedAt: isoTime(row.queued_at)!,
    startedAt: isoTime(row.started_at),
    finishedAt: isoTime(row.finished_at),
    cancelRequested: Boolean(row.cancel_requested),
    summary: row.summary ? (JSON.parse(row.summary) as ChangeSummary) : null,
    outputs: row.outputs ? JSON.parse(row.outputs) : null,
    resourceCount: row.resource_count,
    warnings: row.warnings ? JSON.parse(row.warnings) : [],
    error: row.error,
    errorCode: row.error_code as ErrorCode | null,
    pulumiVersion: row.pulumi_version,
    configVersion: row.config_version,
    programDigest: row.program_digest,
    plan: row.plan ? (JSON.parse(row.plan) as PlanView) : null,
    notBefore: row.status === 'scheduled' ? isoTime(row.not_before) : null,
  };
}

export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}
