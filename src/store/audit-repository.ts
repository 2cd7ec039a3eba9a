// The audit trail's rows. Appends take a lock (a PostgreSQL transaction-scoped advisory lock;
// SQLite serialises writers) and read the newest hash under it, so processes sharing a database
// extend one chain; an append inside a caller's transaction commits or rolls back with it.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DialectName } from './migrations.js';
import { decodeCursor, isoTime, keysetPage, type Page } from './rows.js';
import type { AuditLogTable, Database } from './schema.js';

export interface AuditEntry {
  principal: string;
  credentialId: string | null;
  source: string;
  action: string;
  target: string;
  result: 'allowed' | 'refused' | 'failed';
  /** For refusals and failures: the problem's code (credential_expired, forbidden...). */
  reason: string | null;
  /** The HTTP status, for refusals answered at the door (401, 429); null for the domain's records. */
  status: number | null;
  /** The environment the action concerned, when it concerned one. */
  environment?: string | null;
  /** How many identical refusals this one record stands for (a flood from one source, folded). */
  repeats?: number;
}

export interface AuditRecord extends AuditEntry {
  environment: string | null;
  repeats: number;
  seq: number;
  at: string;
  atMs: number;
  prevHash: string;
  hash: string;
  chainVersion: number;
}

export interface AuditFilter {
  principal?: string;
  action?: string;
  result?: string;
  reason?: string;
  since?: string;
  until?: string;
  /** Only records of these environments (undefined: every record). */
  environments?: readonly string[];
}

/** How each record's hash is made from the one before it. */
export interface AuditChain {
  genesis: string;
  version: number;
  hash(prev: string, at: number, entry: AuditEntry): string;
}

const LOCK_ID = 74_657_201; // any constant: the advisory lock that orders audit appends

export class AuditRepository {
  constructor(private readonly db: Kysely<Database>, private readonly dialect: DialectName) {}

  /** Appends one record chained to the newest, in `db` (a transaction, or a new one). */
  async append(entry: AuditEntry, at: number, chain: AuditChain, db?: Kysely<Database>): Promise<void> {
    const write = async (tx: Kysely<Database>) => {
      if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${LOCK_ID})`.execute(tx);
      const last = await tx.selectFrom('audit_log').select('hash').orderBy('seq', 'desc').limit(1).executeTakeFirst();
      const prev = last?.hash ?? chain.genesis;
      await tx.insertInto('audit_log').values({
        at, principal: entry.principal, credential_id: entry.credentialId, source: entry.source, action: entry.action,
        target: entry.target, result: entry.result, reason: entry.reason, status: entry.status,
        environment: entry.environment ?? null, repeats: entry.repeats ?? 1, chain_version: chain.version,
        prev_hash: prev, hash: chain.hash(prev, at, entry),
      }).execute();
    };
    if (db) await write(db);
    else await this.db.transaction().execute(write);
  }

  async list(filter: AuditFilter, limit: number, cursor?: string): Promise<Page<AuditRecord>> {
    let query = this.db.selectFrom('audit_log').selectAll();
    if (filter.principal) query = query.where('principal', '=', filter.principal);
    if (filter.action) query = query.where('action', '=', filter.action);
    if (filter.result) query = query.where('result', '=', filter.result);
    if (filter.reason) query = query.where('reason', '=', filter.reason);
    if (filter.since) query = query.where('at', '>=', Date.parse(filter.since));
    if (filter.until) query = query.where('at', '<', Date.parse(filter.until));
    if (filter.environments) query = filter.environments.length ? query.where('environment', 'in', filter.environments) : query.where(sql<boolean>`1 = 0`);
    if (cursor !== undefined) query = query.where('seq', '<', decodeCursor(cursor));
    return keysetPage(await query.orderBy('seq', 'desc').limit(limit + 1).execute(), limit, toRecord);
  }

  /** The newest record's position and hash. */
  async head(): Promise<{ seq: number; hash: string } | undefined> {
    const row = await this.db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row && { seq: Number(row.seq), hash: row.hash };
  }

  /** Every record in chain order, a batch at a time. */
  async *walk(): AsyncGenerator<AuditRecord> {
    let after = 0;
    for (;;) {
      const rows = await this.db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(1000).execute();
      if (!rows.length) return;
      for (const row of rows) {
        yield toRecord(row);
        after = row.seq;
      }
    }
  }
}

function toRecord(row: Selectable<AuditLogTable>): AuditRecord {
  return {
    seq: Number(row.seq), at: isoTime(row.at)!, atMs: Number(row.at), principal: row.principal, credentialId: row.credential_id,
    source: row.source, action: row.action, target: row.target, result: row.result as AuditRecord['result'], reason: row.reason,
    status: row.status, environment: row.environment, repeats: Number(row.repeats), prevHash: row.prev_hash, hash: row.hash,
    chainVersion: Number(row.chain_version),
  };
}
