// API key rows: looked up by their public prefix, stored with the SHA-256 of the whole key.
import type { Insertable, Kysely, Selectable } from 'kysely';
import { isoTime } from './rows.js';
import type { ApiKeysTable, Database } from './schema.js';
import type { Grant } from '../auth/roles.js';

export interface ApiKey {
  id: string;
  name: string;
  principal: string;
  grants: Grant[];
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  replacedBy: string | null;
  graceUntil: string | null;
}

export type ApiKeyRow = Selectable<ApiKeysTable>;
export type NewApiKeyRow = Insertable<ApiKeysTable>;

export class ApiKeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: NewApiKeyRow, db: Kysely<Database> = this.db): Promise<void> {
    await db.insertInto('api_keys').values(row).execute();
  }

  async get(id: string, db: Kysely<Database> = this.db): Promise<ApiKey | undefined> {
    const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toKey(row);
  }

  row(id: string, db: Kysely<Database> = this.db): Promise<ApiKeyRow | undefined> {
    return db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async byPrefix(prefix: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom('api_keys').selectAll().where('prefix', '=', prefix).executeTakeFirst();
  }

  async list(): Promise<ApiKey[]> {
    const rows = await this.db.selectFrom('api_keys').selectAll().orderBy('created_at', 'desc').execute();
    return rows.map(toKey);
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('api_keys').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async touch(id: string, now: number): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
  }

  async markReplaced(id: string, replacedBy: string, graceUntil: number, db: Kysely<Database> = this.db): Promise<void> {
    await db.updateTable('api_keys').set({ replaced_by: replacedBy, grace_until: graceUntil }).where('id', '=', id).execute();
  }

  /** Revokes keys installed from the bootstrap variable other than the one with this prefix; returns their ids. */
  async revokeBootstrapExcept(prefix: string, now: number): Promise<string[]> {
    const rows = await this.db.updateTable('api_keys').set({ revoked_at: now })
      .where('bootstrap', '=', 1).where('prefix', '!=', prefix).where('revoked_at', 'is', null).returning('id').execute();
    return rows.map((r) => r.id);
  }

  /** False when the key does not exist or was already revoked. */
  async revoke(id: string, now: number, db: Kysely<Database> = this.db): Promise<boolean> {
    const result = await db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

export function toKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id, name: row.name, principal: row.principal, grants: JSON.parse(row.grants) as Grant[],
    createdAt: isoTime(row.created_at)!, expiresAt: isoTime(row.expires_at)!, lastUsedAt: isoTime(row.last_used_at),
    revokedAt: isoTime(row.revoked_at), replacedBy: row.replaced_by, graceUntil: isoTime(row.grace_until),
  };
}
