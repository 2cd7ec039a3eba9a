// Leases on operations, timed by the database's clock. A process claims a queued operation
// with a lease it renews while it runs it; when a lease expires, another process fences the
// operation (running → recovering, under a lease of its own) before it cleans up after the
// dead runner, so the stack is never free while a stale lock may remain.
import type { Kysely } from 'kysely';
import { ConflictError } from '../errors.js';
import { HOLDING_STATUSES, type Operation } from '../operations/operation.js';
import { databaseNow, databaseNowPlus } from './clock.js';
import type { DialectName } from './migrations.js';
import { isUniqueViolation, type OperationRepository } from './operation-repository.js';
import type { Database } from './schema.js';

export interface ExpiredLease {
  id: string;
  environment: string;
  status: 'running' | 'recovering';
  owner: string;
  expiresAt: number;
  host: string | null;
}

export class LeaseRepository {
  constructor(private readonly db: Kysely<Database>, private readonly dialect: DialectName, private readonly operations: OperationRepository) {}

  /**
   * Claims the oldest queued operation of an environment that nothing holds, FIFO per
   * environment (`readOnlyTypes`: those that never wait for an operation awaiting approval). The unique index on holding operations makes a lost race fail, not overlap.
   * In the environments whose maintenance window is `shut`, operations the windows hold are
   * not claimed; elsewhere a scheduled one is claimed like a queued one, in the same order, so
   * a change queued as its window opens never overtakes one scheduled before it.
   */
  async claim(
    owner: string, leaseMs: number, environments: readonly string[], readOnlyTypes: readonly string[], shut: readonly string[] = [], now = Date.now(),
  ): Promise<Operation | undefined> {
    if (!environments.length) return undefined;
    let query = this.db.selectFrom('operations')
      .select(['environment', (eb) => eb.fn.min('seq').as('seq')])
      .where('status', 'in', ['queued', 'scheduled'])
      .where('environment', 'in', environments);
    if (shut.length) query = query.where((eb) => eb.or([eb('held_by_windows', '=', 0), eb('environment', 'not in', [...shut])]));
    const candidates = await query
      .where('environment', 'not in', (eb) => eb.selectFrom('operations').select('environment').where('status', 'in', [...HOLDING_STATUSES]))
      // A repair session holds its environment's queue until it closes or idles out.
      .where('environment', 'not in', (eb) => eb.selectFrom('repair_sessions').select('environment').where('closed_at', 'is', null).where('idle_until', '>', now))
      // An operation waiting for approval holds its stack against mutations from plan to
      // apply; read-only operations (previews) go ahead.
      .where((eb) => eb.or([
        eb('type', 'in', [...readOnlyTypes]),
        eb('environment', 'not in', eb.selectFrom('operations').select('environment').where('status', '=', 'awaiting_approval')),
      ]))
      .groupBy(['environment']).orderBy('seq').execute();
    for (const candidate of candidates) {
      const first = await this.db.selectFrom('operations').select('id').where('seq', '=', Number(candidate.seq)).executeTakeFirst();
      if (!first) continue;
      try {
        return await this.operations.transition(first.id, {
          from: ['queued', 'scheduled'], to: 'running', now,
          set: { started_at: now, lease_owner: owner, lease_expires_at: databaseNowPlus(this.dialect, leaseMs) },
        });
      } catch (error) {
        // Another process claimed it, or started this environment first.
        if (!(error instanceof ConflictError) && !isUniqueViolation(error)) throw error;
      }
    }
    return undefined;
  }

  /** Extends a lease; `held` is false when it was lost. Also tells whether a cancel was asked for. */
  async renew(id: string, owner: string, leaseMs: number): Promise<{ held: boolean; cancelRequested: boolean }> {
    const row = await this.db.updateTable('operations').set({ lease_expires_at: databaseNowPlus(this.dialect, leaseMs) })
      .where('id', '=', id).where('lease_owner', '=', owner).where('status', 'in', [...HOLDING_STATUSES])
      .returning('cancel_requested').executeTakeFirst();
    return { held: Boolean(row), cancelRequested: Boolean(row?.cancel_requested) };
  }

  /** Operations whose holder stopped renewing: running ones whose runner died, and recoveries whose recoverer did. */
  async expired(): Promise<ExpiredLease[]> {
    const rows = await this.db.selectFrom('operations').select(['id', 'environment', 'status', 'lease_owner', 'lease_expires_at', 'engine_host'])
      .where('status', 'in', [...HOLDING_STATUSES]).where('lease_expires_at', '<', databaseNow(this.dialect)).execute();
    return rows.map((r) => ({
      id: r.id, environment: r.environment, status: r.status as ExpiredLease['status'], owner: r.lease_owner ?? '',
      expiresAt: Number(r.lease_expires_at ?? 0), host: r.engine_host,
    }));
  }

  /** Fences a running operation whose lease expired: it becomes recovering, held by `owner`. */
  fence(expired: ExpiredLease, owner: string, leaseMs: number): Promise<Operation> {
    return this.operations.transition(expired.id, {
      from: 'running', to: 'recovering', owner: expired.owner, leaseExpiresAt: expired.expiresAt,
      set: { lease_owner: owner, lease_expires_at: databaseNowPlus(this.dialect, leaseMs) },
    });
  }

  /** Takes over a recovery whose recoverer died; false when another process took it first. */
  async takeOver(expired: ExpiredLease, owner: string, leaseMs: number): Promise<boolean> {
    const result = await this.db.updateTable('operations').set({ lease_owner: owner, lease_expires_at: databaseNowPlus(this.dialect, leaseMs) })
      .where('id', '=', expired.id).where('status', '=', 'recovering').where('lease_owner', '=', expired.owner)
      .where('lease_expires_at', '=', expired.expiresAt).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
