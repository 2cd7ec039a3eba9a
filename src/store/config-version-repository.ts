// Configuration versions: numbered 1, 2, 3… per environment, never changed once written. Two
// writers racing for the same number meet the primary key: one wins, the other is told.
import type { Kysely, Selectable } from 'kysely';
import type { ConfigMap } from '../releases/config-path.js';
import { decodeCursor, isoTime, keysetPage, type Page } from './rows.js';
import type { ConfigVersionsTable, Database } from './schema.js';

export interface ConfigVersion {
  environment: string;
  version: number;
  config: ConfigMap;
  /** The salt its secrets were encrypted with, when not the stack's own (a stack file that brought one). */
  encryptionSalt: string | null;
  author: string;
  message: string | null;
  fileDigest: string | null;
  createdAt: string;
}

export type NewConfigVersion = Omit<ConfigVersion, 'createdAt'>;

export class ConfigVersionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async latest(environment: string, db: Kysely<Database> = this.db): Promise<ConfigVersion | undefined> {
    const row = await db.selectFrom('config_versions').selectAll().where('environment', '=', environment)
      .orderBy('version', 'desc').limit(1).executeTakeFirst();
    return row && toVersion(row);
  }

  async get(environment: string, version: number, db: Kysely<Database> = this.db): Promise<ConfigVersion | undefined> {
    const row = await db.selectFrom('config_versions').selectAll().where('environment', '=', environment)
      .where('version', '=', version).executeTakeFirst();
    return row && toVersion(row);
  }

  /** The digest of the stack file the newest version brought in from the repository. */
  async lastFileDigest(environment: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('config_versions').select('file_digest').where('environment', '=', environment)
      .where('file_digest', 'is not', null).orderBy('version', 'desc').limit(1).executeTakeFirst();
    return row?.file_digest ?? undefined;
  }

  /** Newest first, in keyset pages. */
  async list(environment: string, limit: number, cursor?: string): Promise<Page<ConfigVersion>> {
    let query = this.db.selectFrom('config_versions').selectAll().where('environment', '=', environment);
    if (cursor !== undefined) query = query.where('version', '<', decodeCursor(cursor));
    const rows = await query.orderBy('version', 'desc').limit(limit + 1).execute();
    return keysetPage(rows.map((row) => ({ ...row, seq: row.version })), limit, toVersion);
  }

  async insert(tx: Kysely<Database>, version: NewConfigVersion, now = Date.now()): Promise<ConfigVersion> {
    const row = await tx.insertInto('config_versions').values({
      environment: version.environment, version: version.version, config: JSON.stringify(version.config),
      encryption_salt: version.encryptionSalt, author: version.author, message: version.message, file_digest: version.fileDigest, created_at: now,
    }).returningAll().executeTakeFirstOrThrow();
    return toVersion(row);
  }
}

function toVersion(row: Selectable<ConfigVersionsTable>): ConfigVersion {
  return {
    environment: row.environment, version: row.version, config: JSON.parse(row.config) as ConfigMap, encryptionSalt: row.encryption_salt,
    author: row.author, message: row.message, fileDigest: row.file_digest, createdAt: isoTime(row.created_at)!,
  };
}
