// Drift: each environment's last check (one row per environment, replaced by the next check)
// and its schedule. A replica claims a due check by moving the schedule's next_due_at on from
// the value it read: only one replica's update matches, so a check is queued once.
import type { Kysely } from 'kysely';
import { isoTime } from './rows.js';
import type { Database } from './schema.js';

export type DriftStatus = 'in_sync' | 'drifted' | 'failed';

export interface DriftedResource {
  urn: string;
  type: string;
  /** What a refresh would do to the state: update or delete (the resource changed, or is gone). */
  change: string;
}

export interface DriftState {
  checkedAt: string;
  status: DriftStatus;
  operationId: string;
  resources: DriftedResource[];
}

export interface DriftSchedule {
  environment: string;
  cron: string;
  remediate: boolean;
  nextDueAt: string;
  updatedBy: string;
  updatedAt: string;
}

export class DriftRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async record(tx: Kysely<Database>, environment: string, state: Omit<DriftState, 'checkedAt'>, now = Date.now()): Promise<void> {
    const row = { operation_id: state.operationId, status: state.status, resources: JSON.stringify(state.resources), checked_at: now };
    await tx.insertInto('drift_states').values({ environment, ...row }).onConflict((oc) => oc.column('environment').doUpdateSet(row)).execute();
  }

  async state(environment: string): Promise<DriftState | undefined> {
    const row = await this.db.selectFrom('drift_states').selectAll().where('environment', '=', environment).executeTakeFirst();
    return row && { checkedAt: isoTime(row.checked_at)!, status: row.status as DriftStatus, operationId: row.operation_id, resources: JSON.parse(row.resources) };
  }

  async saveSchedule(tx: Kysely<Database>, schedule: { environment: string; cron: string; remediate: boolean; nextDueAt: number; updatedBy: string }, now = Date.now()): Promise<void> {
    const row = { cron: schedule.cron, remediate: schedule.remediate ? 1 : 0, next_due_at: schedule.nextDueAt, updated_by: schedule.updatedBy, updated_at: now };
    await tx.insertInto('drift_schedules').values({ environment: schedule.environment, ...row }).onConflict((oc) => oc.column('environment').doUpdateSet(row)).execute();
  }

  async deleteSchedule(tx: Kysely<Database>, environment: string): Promise<boolean> {
    const result = await tx.deleteFrom('drift_schedules').where('environment', '=', environment).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async schedule(environment: string, db: Kysely<Database> = this.db): Promise<DriftSchedule | undefined> {
    const row = await db.selectFrom('drift_schedules').selectAll().where('environment', '=', environment).executeTakeFirst();
    return row && {
      environment: row.environment, cron: row.cron, remediate: Boolean(row.remediate), nextDueAt: isoTime(row.next_due_at)!,
      updatedBy: row.updated_by, updatedAt: isoTime(row.updated_at)!,
    };
  }

  async due(now: number): Promise<Array<{ environment: string; cron: string; dueAt: number }>> {
    const rows = await this.db.selectFrom('drift_schedules').select(['environment', 'cron', 'next_due_at']).where('next_due_at', '<=', now).execute();
    return rows.map((r) => ({ environment: r.environment, cron: r.cron, dueAt: Number(r.next_due_at) }));
  }

  /** Moves a due check's next time on, inside `tx`; false when another replica claimed it first. */
  async claim(tx: Kysely<Database>, environment: string, dueAt: number, nextDueAt: number): Promise<boolean> {
    const result = await tx.updateTable('drift_schedules').set({ next_due_at: nextDueAt })
      .where('environment', '=', environment).where('next_due_at', '=', dueAt).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
