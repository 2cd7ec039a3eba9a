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
}

export interface AuditRecord extends AuditEntry {
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
}

export interface AuditFilter {
  principal?: string;
  action?: string;
  result?: string;
  reason?: string;
  since?: string;
  until?: string;
}

const LOCK_ID = 74_657_201; // any constant: the advisory lock that orders audit appends

export class AuditRepository {
  constructor(private readonly db: Kysely<Database>, private readonly dialect: DialectName) {}

  /** Appends one record whose hash `chain` computes from the previous one's, in `db` (a transaction, or a new one). */
  async append(entry: AuditEntry, at: number, chain: (prev: string, at: number, entry: AuditEntry) => string, genesis: string, db?: Kysely<Database>): Promise<void> {
    const write = async (tx: Kysely<Database>) => {
      if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${LOCK_ID})`.execute(tx);
      const last = await tx.selectFrom('audit_log').select('hash').orderBy('seq', 'desc').limit(1).executeTakeFirst();
      const prev = last?.hash ?? genesis;
      await tx.insertInto('audit_log').values({
        at, principal: entry.principal, credential_id: entry.credentialId, source: entry.source, action: entry.action,
        target: entry.target, result: entry.result, reason: entry.reason, status: entry.status, prev_hash: prev, hash: chain(prev, at, entry),
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
    if (cursor !== undefined) query = query.where('seq', '<', decodeCursor(cursor));
    return keysetPage(await query.orderBy('seq', 'desc').limit(limit + 1).execute(), limit, toRecord);
  }

  /** Every record in chain order, a batch at a time. */
  async *walk(): AsyncGenerator<AuditRecord & { atMs: number }> {
    let after = 0;
    for (;;) {
      const rows = await this.db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(1000).execute();
      if (!rows.length) return;
      for (const row of rows) {
        yield { ...toRecord(row), atMs: Number(row.at) };
        after = row.seq;
      }
    }
  }
}

function toRecord(row: Selectable<AuditLogTable>): AuditRecord {
  return {
    seq: row.seq, at: isoTime(row.at)!, principal: row.principal, credentialId: row.credential_id,
    source: row.source, action: row.action, target: row.target, result: row.result as AuditRecord['result'], reason: row.reason,
    status: row.status, prevHash: row.prev_hash, hash: row.hash,
  };
}
