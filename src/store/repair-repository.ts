// Repair session rows. One open session per environment (a unique index); a session that
// stayed unused past idle_until no longer holds the queue, and is closed as `expired` the
// next time someone looks.
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { isoTime } from './rows.js';
import type { Database, RepairSessionsTable } from './schema.js';

export interface RepairSession {
  id: string;
  environment: string;
  openedBy: string;
  reason: string;
  backupId: string | null;
  openedAt: string;
  idleUntil: string;
  closedAt: string | null;
  closedBy: string | null;
}

export class RepairRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async open(tx: Kysely<Database>, session: { environment: string; openedBy: string; reason: string; idleUntil: number }, now = Date.now()): Promise<RepairSession> {
    const row = await tx.insertInto('repair_sessions').values({
      id: randomUUID(), environment: session.environment, opened_by: session.openedBy, reason: session.reason, backup_id: null,
      opened_at: now, idle_until: session.idleUntil, closed_at: null, closed_by: null,
    }).returningAll().executeTakeFirstOrThrow();
    return toSession(row);
  }

  /** The environment's open session, if any; one idle past its time is closed as expired first. */
  async current(environment: string, now = Date.now(), db: Kysely<Database> = this.db): Promise<RepairSession | undefined> {
    await db.updateTable('repair_sessions').set({ closed_at: now, closed_by: 'expired' })
      .where('environment', '=', environment).where('closed_at', 'is', null).where('idle_until', '<=', now).execute();
    const row = await db.selectFrom('repair_sessions').selectAll().where('environment', '=', environment).where('closed_at', 'is', null).executeTakeFirst();
    return row && toSession(row);
  }

  /** Keeps an open session alive; false when it is no longer open. */
  async touch(id: string, idleUntil: number, db: Kysely<Database> = this.db): Promise<boolean> {
    const result = await db.updateTable('repair_sessions').set({ idle_until: idleUntil }).where('id', '=', id).where('closed_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async recordBackup(id: string, backupId: string): Promise<void> {
    await this.db.updateTable('repair_sessions').set({ backup_id: backupId }).where('id', '=', id).execute();
  }

  async close(tx: Kysely<Database>, id: string, closedBy: string, now = Date.now()): Promise<boolean> {
    const result = await tx.updateTable('repair_sessions').set({ closed_at: now, closed_by: closedBy }).where('id', '=', id).where('closed_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

function toSession(row: Selectable<RepairSessionsTable>): RepairSession {
  return {
    id: row.id, environment: row.environment, openedBy: row.opened_by, reason: row.reason, backupId: row.backup_id,
    openedAt: isoTime(row.opened_at)!, idleUntil: isoTime(row.idle_until)!, closedAt: isoTime(row.closed_at), closedBy: row.closed_by,
  };
}
