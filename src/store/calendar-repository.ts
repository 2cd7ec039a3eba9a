// Maintenance calendars (one row per environment that has one) and the reads and small writes
// the calendar makes on scheduled operations. Status changes still go through
// OperationRepository.transition; a replica claims an operation's second notice by setting
// upcoming_notice_at from null, so only one replica's update matches.
import type { Kysely } from 'kysely';
import type { FreezeRule, WindowRule } from '../calendar/maintenance-windows.js';
import type { Operation } from '../operations/operation.js';
import { toOperation } from './operation-repository.js';
import { isoTime } from './rows.js';
import type { Database } from './schema.js';

export interface CalendarRules {
  environment: string;
  windows: WindowRule[];
  freezes: FreezeRule[];
  noticeHours: number;
  updatedBy: string;
  updatedAt: string;
}

export class CalendarRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(environment: string, db: Kysely<Database> = this.db): Promise<CalendarRules | undefined> {
    const row = await db.selectFrom('maintenance_calendars').selectAll().where('environment', '=', environment).executeTakeFirst();
    return row && toRules(row);
  }

  async all(): Promise<CalendarRules[]> {
    return (await this.db.selectFrom('maintenance_calendars').selectAll().execute()).map(toRules);
  }

  async save(tx: Kysely<Database>, rules: Omit<CalendarRules, 'updatedAt'>, now = Date.now()): Promise<void> {
    const row = { windows: JSON.stringify(rules.windows), freezes: JSON.stringify(rules.freezes), notice_hours: rules.noticeHours, updated_by: rules.updatedBy, updated_at: now };
    await tx.insertInto('maintenance_calendars').values({ environment: rules.environment, ...row })
      .onConflict((oc) => oc.column('environment').doUpdateSet(row)).execute();
  }

  /** Every scheduled operation, soonest first (FIFO within an opening). */
  async scheduled(environments: readonly string[]): Promise<Operation[]> {
    if (!environments.length) return [];
    const rows = await this.db.selectFrom('operations').selectAll().where('status', '=', 'scheduled').where('environment', 'in', [...environments])
      .orderBy('not_before').orderBy('seq').execute();
    return rows.map(toOperation);
  }

  /** An environment's operations in `status` that windows hold, oldest first. */
  async held(environment: string, status: 'queued' | 'scheduled'): Promise<Operation[]> {
    const rows = await this.db.selectFrom('operations').selectAll().where('environment', '=', environment).where('status', '=', status)
      .where('held_by_windows', '=', 1).orderBy('seq').execute();
    return rows.map(toOperation);
  }

  /** Moves a scheduled operation's notBefore (its window's rules changed, or it waited past an opening). */
  async reschedule(id: string, notBefore: number | null): Promise<void> {
    await this.db.updateTable('operations').set({ not_before: notBefore }).where('id', '=', id).where('status', '=', 'scheduled').execute();
  }

  /** Scheduled operations whose second notice is not sent yet. */
  async awaitingNotice(): Promise<Array<{ id: string; environment: string; notBefore: number }>> {
    const rows = await this.db.selectFrom('operations').select(['id', 'environment', 'not_before']).where('status', '=', 'scheduled')
      .where('upcoming_notice_at', 'is', null).where('not_before', 'is not', null).execute();
    return rows.map((r) => ({ id: r.id, environment: r.environment, notBefore: Number(r.not_before) }));
  }

  /** Claims an operation's second notice inside `tx`; false when another replica claimed it first. */
  async claimNotice(tx: Kysely<Database>, id: string, now: number): Promise<boolean> {
    const result = await tx.updateTable('operations').set({ upcoming_notice_at: now })
      .where('id', '=', id).where('status', '=', 'scheduled').where('upcoming_notice_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

function toRules(row: { environment: string; windows: string; freezes: string; notice_hours: number; updated_by: string; updated_at: number }): CalendarRules {
  return {
    environment: row.environment, windows: JSON.parse(row.windows), freezes: JSON.parse(row.freezes), noticeHours: row.notice_hours,
    updatedBy: row.updated_by, updatedAt: isoTime(row.updated_at)!,
  };
}
