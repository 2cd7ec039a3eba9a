// Session rows: found by the hash of their token, never by the token itself.
import type { Kysely, Selectable } from 'kysely';
import type { Database, SessionsTable } from './schema.js';

export type SessionRow = Selectable<SessionsTable>;

export class SessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: SessionRow, db: Kysely<Database> = this.db): Promise<void> {
    await db.insertInto('sessions').values(row).execute();
  }

  byHash(hash: string): Promise<SessionRow | undefined> {
    return this.db.selectFrom('sessions').selectAll().where('hash', '=', hash).executeTakeFirst();
  }

  /** Last seen only moves forward (replicas write it at their own pace). */
  async touch(id: string, now: number): Promise<void> {
    await this.db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', id).where('last_seen_at', '<', now).execute();
  }

  async close(id: string, now: number, db: Kysely<Database> = this.db): Promise<void> {
    await db.updateTable('sessions').set({ revoked_at: now }).where('id', '=', id).execute();
  }
}
