// Rows of state backups. The files live under the backup location, named by their sha256;
// these rows say whose state each is, what took it, and when. Pruning asks this repository
// which rows may go: never an environment's newest, never one a release refers to.
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { decodeCursor, isoTime, keysetPage, type Page } from './rows.js';
import type { Database, StateBackupsTable } from './schema.js';

/** Why a backup was taken. */
export type BackupReason = 'after_operation' | 'before_restore' | 'before_repair';

export interface StateBackup {
  id: string;
  environment: string;
  operationId: string | null;
  reason: BackupReason;
  sha256: string;
  size: number;
  resourceCount: number;
  createdAt: string;
}

export type NewBackup = Omit<StateBackup, 'id' | 'createdAt'>;

export class BackupRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(backup: NewBackup, now = Date.now()): Promise<StateBackup> {
    const row = await this.db.insertInto('state_backups').values({
      id: randomUUID(), environment: backup.environment, operation_id: backup.operationId, reason: backup.reason,
      sha256: backup.sha256, size: backup.size, resource_count: backup.resourceCount, created_at: now,
    }).returningAll().executeTakeFirstOrThrow();
    return toBackup(row);
  }

  async get(id: string): Promise<StateBackup | undefined> {
    const row = await this.db.selectFrom('state_backups').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toBackup(row);
  }

  async list(environment: string, limit: number, cursor?: string): Promise<Page<StateBackup>> {
    let query = this.db.selectFrom('state_backups').selectAll().where('environment', '=', environment);
    if (cursor !== undefined) query = query.where('seq', '<', decodeCursor(cursor));
    return keysetPage(await query.orderBy('seq', 'desc').limit(limit + 1).execute(), limit, toBackup);
  }

  async newest(environment: string): Promise<StateBackup | undefined> {
    const row = await this.db.selectFrom('state_backups').selectAll().where('environment', '=', environment).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row && toBackup(row);
  }

  /**
   * Backups that retention lets go: beyond the newest `keepLast`, taken before `keepSince`,
   * and taken after no operation that made a release.
   */
  async prunable(environment: string, keepLast: number, keepSince: number): Promise<StateBackup[]> {
    const last = await this.db.selectFrom('state_backups').select('seq').where('environment', '=', environment)
      .orderBy('seq', 'desc').offset(keepLast - 1).limit(1).executeTakeFirst();
    if (!last) return [];
    const rows = await this.db.selectFrom('state_backups').selectAll()
      .where('environment', '=', environment).where('seq', '<', last.seq).where('created_at', '<', keepSince)
      .where((eb) => eb.or([
        eb('operation_id', 'is', null),
        eb('operation_id', 'not in', eb.selectFrom('releases').select('operation_id').where('environment', '=', environment)),
      ]))
      .execute();
    return rows.map(toBackup);
  }

  async delete(ids: string[]): Promise<void> {
    if (ids.length) await this.db.deleteFrom('state_backups').where('id', 'in', ids).execute();
  }

  /** Whether any backup row still names this content. */
  async referenced(sha256: string): Promise<boolean> {
    return Boolean(await this.db.selectFrom('state_backups').select('id').where('sha256', '=', sha256).limit(1).executeTakeFirst());
  }
}

function toBackup(row: Selectable<StateBackupsTable>): StateBackup {
  return {
    id: row.id, environment: row.environment, operationId: row.operation_id, reason: row.reason as BackupReason,
    sha256: row.sha256, size: Number(row.size), resourceCount: Number(row.resource_count), createdAt: isoTime(row.created_at)!,
  };
}
