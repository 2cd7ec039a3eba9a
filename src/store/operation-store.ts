// Operations, their events and their output, in SQLite or PostgreSQL through one interface.
// Every state change is a conditional update (WHERE status = ... AND lease_owner = ...), so
// two processes sharing a database can race without either corrupting a row.
import { randomUUID, createHash } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { ConflictError, UnprocessableError } from '../errors.js';
import type { ChangeSummary } from '../engine/types.js';
import { FINISHED_STATUSES, type NewOperation, type Operation, type OperationEvent, type OperationStatus } from '../operations/operation.js';
import { decodeCursor, isoTime, keysetPage } from './rows.js';
import type { Database, OperationsTable } from './schema.js';

type Row = Selectable<OperationsTable>;

export interface FinishFields {
  status: Extract<OperationStatus, 'succeeded' | 'failed' | 'cancelled'>;
  summary?: ChangeSummary | null;
  outputs?: Record<string, unknown> | null;
  resourceCount?: number | null;
  error?: string | null;
}

export class OperationStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Queues an operation. With an idempotency key, a retry of the same request returns the
   * first operation (created: false); the same key with another request is refused.
   */
  async enqueue(input: NewOperation, now: number): Promise<{ operation: Operation; created: boolean }> {
    const requestHash = hashRequest(input);
    if (input.idempotencyKey) {
      const existing = await this.byIdempotencyKey(input.idempotencyKey, requestHash);
      if (existing) return { operation: existing, created: false };
    }
    const row = {
      id: randomUUID(),
      environment: input.environment,
      type: input.type,
      scope: input.scope,
      message: input.message ?? null,
      status: 'queued',
      requested_by: input.requestedBy,
      idempotency_key: input.idempotencyKey ?? null,
      request_hash: input.idempotencyKey ? requestHash : null,
      queued_at: now,
    };
    try {
      await this.db.insertInto('operations').values(row).execute();
    } catch (error) {
      // Two retries raced: the unique index let one in; answer with that one.
      const winner = input.idempotencyKey && (await this.byIdempotencyKey(input.idempotencyKey, requestHash));
      if (winner) return { operation: winner, created: false };
      throw error;
    }
    return { operation: (await this.get(row.id))!, created: true };
  }

  private async byIdempotencyKey(key: string, requestHash: string): Promise<Operation | undefined> {
    const row = await this.db.selectFrom('operations').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
    if (!row) return undefined;
    if (row.request_hash !== requestHash) {
      throw new UnprocessableError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request');
    }
    return toOperation(row);
  }

  async get(id: string): Promise<Operation | undefined> {
    const row = await this.db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toOperation(row);
  }

  /** A page of ids, newest first: what a listing needs before it knows which rows to read. */
  async listIds(environment: string, limit: number, cursor?: string): Promise<{ ids: string[]; nextCursor: string | null }> {
    let query = this.db.selectFrom('operations').select(['seq', 'id']).where('environment', '=', environment);
    if (cursor !== undefined) query = query.where('seq', '<', decodeCursor(cursor));
    const page = keysetPage(await query.orderBy('seq', 'desc').limit(limit + 1).execute(), limit, (row) => row.id);
    return { ids: page.items, nextCursor: page.nextCursor };
  }

  async getMany(ids: string[]): Promise<Operation[]> {
    if (!ids.length) return [];
    const rows = await this.db.selectFrom('operations').selectAll().where('id', 'in', ids).execute();
    return rows.map(toOperation);
  }

  async latest(environment: string): Promise<Operation | undefined> {
    const row = await this.db.selectFrom('operations').selectAll().where('environment', '=', environment)
      .orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row && toOperation(row);
  }

  async running(environment: string): Promise<Operation | undefined> {
    const row = await this.db.selectFrom('operations').selectAll()
      .where('environment', '=', environment).where('status', '=', 'running').executeTakeFirst();
    return row && toOperation(row);
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

  /**
   * Claims the oldest queued operation of an environment that has nothing running, FIFO per
   * environment. The unique index on running operations makes a lost race fail, not overlap.
   */
  async claim(owner: string, leaseUntil: number, now: number, environments: readonly string[]): Promise<Operation | undefined> {
    if (!environments.length) return undefined;
    const candidates = await this.db.selectFrom('operations')
      .select(['environment', (eb) => eb.fn.min('seq').as('seq')])
      .where('status', '=', 'queued')
      .where('environment', 'in', environments)
      .where('environment', 'not in', (eb) => eb.selectFrom('operations').select('environment').where('status', '=', 'running'))
      .groupBy('environment').orderBy('seq').execute();
    for (const candidate of candidates) {
      try {
        const claimed = await this.db.updateTable('operations')
          .set({ status: 'running', started_at: now, lease_owner: owner, lease_expires_at: leaseUntil })
          .where('seq', '=', Number(candidate.seq)).where('status', '=', 'queued')
          .returningAll().executeTakeFirst();
        if (claimed) return toOperation(claimed);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error; // another process started this environment first
      }
    }
    return undefined;
  }

  /** Extends a lease; false when it was lost. Also tells whether a cancel was asked for. */
  async renewLease(id: string, owner: string, leaseUntil: number): Promise<{ held: boolean; cancelRequested: boolean }> {
    const row = await this.db.updateTable('operations').set({ lease_expires_at: leaseUntil })
      .where('id', '=', id).where('lease_owner', '=', owner).where('status', '=', 'running')
      .returning('cancel_requested').executeTakeFirst();
    return { held: Boolean(row), cancelRequested: Boolean(row?.cancel_requested) };
  }

  async recordEngine(id: string, owner: string, fields: { pulumiVersion: string; host: string; pid: number; warnings: string[] }): Promise<void> {
    await this.db.updateTable('operations')
      .set({ pulumi_version: fields.pulumiVersion, engine_host: fields.host, engine_pid: fields.pid, warnings: JSON.stringify(fields.warnings) })
      .where('id', '=', id).where('lease_owner', '=', owner).execute();
  }

  /** Ends a running operation this owner holds, with its final `result` event, atomically. */
  async finish(id: string, owner: string, fields: FinishFields, now: number): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const result = await tx.updateTable('operations').set({
        status: fields.status,
        finished_at: now,
        lease_owner: null,
        lease_expires_at: null,
        summary: fields.summary ? JSON.stringify(fields.summary) : null,
        outputs: fields.outputs ? JSON.stringify(fields.outputs) : null,
        resource_count: fields.resourceCount ?? null,
        error: fields.error ?? null,
      }).where('id', '=', id).where('lease_owner', '=', owner).where('status', '=', 'running').executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await appendResult(tx, id, { status: fields.status, summary: fields.summary ?? null, error: fields.error ?? null });
      return true;
    });
  }

  /**
   * A queued operation is cancelled at once; a running one is flagged, and its runner sends
   * the engine one SIGINT when it next renews its lease. A finished one cannot be cancelled.
   */
  async requestCancel(id: string, now: number): Promise<Operation | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.get(id);
      if (!current) return undefined;
      if (current.status === 'queued') {
        const cancelled = await this.db.transaction().execute(async (tx) => {
          const done = await tx.updateTable('operations').set({ status: 'cancelled', finished_at: now, cancel_requested: 1 })
            .where('id', '=', id).where('status', '=', 'queued').executeTakeFirst();
          if (Number(done.numUpdatedRows) !== 1) return false;
          await appendResult(tx, id, { status: 'cancelled', summary: null, error: null });
          return true;
        });
        if (cancelled) return this.get(id);
      } else if (current.status === 'running') {
        const done = await this.db.updateTable('operations').set({ cancel_requested: 1 })
          .where('id', '=', id).where('status', '=', 'running').executeTakeFirst();
        if (Number(done.numUpdatedRows) === 1) return this.get(id);
      } else {
        throw new ConflictError('operation_finished', `operation ${id} has already finished (${current.status})`, { operationStatus: current.status });
      }
    }
    throw new ConflictError('operation_changing', `operation ${id} changed state while being cancelled; try again`);
  }

  /** Running operations whose owner stopped renewing. */
  async expiredLeases(now: number): Promise<Array<{ id: string; environment: string; owner: string; expiresAt: number; host: string | null }>> {
    const rows = await this.db.selectFrom('operations').select(['id', 'environment', 'lease_owner', 'lease_expires_at', 'engine_host'])
      .where('status', '=', 'running').where('lease_expires_at', '<', now).execute();
    return rows.map((r) => ({ id: r.id, environment: r.environment, owner: r.lease_owner ?? '', expiresAt: r.lease_expires_at ?? 0, host: r.engine_host }));
  }

  /** Marks an expired operation interrupted, unless its owner renewed in the meantime. */
  async markInterrupted(id: string, owner: string, expiresAt: number, now: number): Promise<boolean> {
    const error = 'the process running this operation stopped before it finished';
    return this.db.transaction().execute(async (tx) => {
      const result = await tx.updateTable('operations').set({
        status: 'interrupted', finished_at: now, lease_owner: null, lease_expires_at: null, error,
      }).where('id', '=', id).where('status', '=', 'running').where('lease_owner', '=', owner)
        .where('lease_expires_at', '=', expiresAt).executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await appendResult(tx, id, { status: 'interrupted', summary: null, error });
      return true;
    });
  }

  async appendEvents(id: string, events: OperationEvent[]): Promise<void> {
    if (!events.length) return;
    await this.db.insertInto('operation_events').values(events.map((e) => ({
      operation_id: id, sequence: e.sequence, event_type: e.type, payload: JSON.stringify(e.payload),
    }))).execute();
  }

  async events(id: string, afterSequence: number, limit = 500): Promise<OperationEvent[]> {
    const rows = await this.db.selectFrom('operation_events').select(['sequence', 'event_type', 'payload'])
      .where('operation_id', '=', id).where('sequence', '>', afterSequence).orderBy('sequence').limit(limit).execute();
    return rows.map((r) => ({ sequence: r.sequence, type: r.event_type, payload: JSON.parse(r.payload) }));
  }

  async appendOutput(id: string, chunk: number, text: string): Promise<void> {
    await this.db.insertInto('operation_output').values({ operation_id: id, chunk, text }).execute();
  }

  async output(id: string): Promise<string> {
    const rows = await this.db.selectFrom('operation_output').select('text').where('operation_id', '=', id).orderBy('chunk').execute();
    return rows.map((r) => r.text).join('');
  }

  async ping(): Promise<void> {
    await this.db.selectFrom('operations').select('seq').limit(1).execute();
  }
}

/**
 * Every finished operation ends its event stream with one `result` event, written in the same
 * transaction as its final status, so a stream can always tell that nothing more will come.
 */
async function appendResult(tx: Kysely<Database>, id: string, payload: { status: string; summary: ChangeSummary | null; error: string | null }): Promise<void> {
  const last = await tx.selectFrom('operation_events').select((eb) => eb.fn.max('sequence').as('last'))
    .where('operation_id', '=', id).executeTakeFirst();
  await tx.insertInto('operation_events').values({
    operation_id: id, sequence: Number(last?.last ?? 0) + 1, event_type: RESULT_EVENT, payload: JSON.stringify(payload),
  }).execute();
}

export const RESULT_EVENT = 'result';

function hashRequest(input: NewOperation): string {
  const { environment, type, scope, message, requestedBy } = input;
  return createHash('sha256').update(JSON.stringify([environment, type, scope, message ?? null, requestedBy])).digest('hex');
}

function toOperation(row: Row): Operation {
  return {
    id: row.id,
    environment: row.environment,
    type: row.type as Operation['type'],
    scope: row.scope as Operation['scope'],
    message: row.message,
    status: row.status as OperationStatus,
    requestedBy: row.requested_by,
    queuedAt: isoTime(row.queued_at)!,
    startedAt: isoTime(row.started_at),
    finishedAt: isoTime(row.finished_at),
    cancelRequested: Boolean(row.cancel_requested),
    summary: row.summary ? JSON.parse(row.summary) : null,
    outputs: row.outputs ? JSON.parse(row.outputs) : null,
    resourceCount: row.resource_count,
    warnings: row.warnings ? JSON.parse(row.warnings) : [],
    error: row.error,
    pulumiVersion: row.pulumi_version,
  };
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}
