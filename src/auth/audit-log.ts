// The audit trail: append-only, one record per mutation and per refused request. Each record
// carries the hash of the one before it, so editing or deleting history breaks the chain, and
// verify() finds where. Appends take a lock (PostgreSQL advisory lock; SQLite serialises
// writers) so processes sharing a database extend one chain.
import { createHash } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DialectName } from '../store/migrations.js';
import { decodeCursor, isoTime, keysetPage, type Page } from '../store/rows.js';
import type { AuditLogTable, Database } from '../store/schema.js';

export interface AuditEntry {
  principal: string;
  credentialId: string | null;
  source: string;
  action: string;
  target: string;
  result: 'allowed' | 'refused' | 'failed';
  /** For refusals and failures: the problem's code (credential_expired, forbidden...). */
  reason: string | null;
  status: number;
}

export interface AuditRecord extends AuditEntry {
  seq: number;
  at: string;
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

const GENESIS = '0'.repeat(64);
const LOCK_ID = 74_657_201; // any constant: the advisory lock that orders audit appends

function hashOf(prev: string, at: number, entry: AuditEntry): string {
  const canonical = JSON.stringify([prev, at, entry.principal, entry.credentialId, entry.source, entry.action, entry.target, entry.result, entry.reason, entry.status]);
  return createHash('sha256').update(canonical).digest('hex');
}

export class AuditLog {
  constructor(private readonly db: Kysely<Database>, private readonly dialect: DialectName) {}

  async append(entry: AuditEntry, now = Date.now()): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${LOCK_ID})`.execute(tx);
      const last = await tx.selectFrom('audit_log').select('hash').orderBy('seq', 'desc').limit(1).executeTakeFirst();
      const prev = last?.hash ?? GENESIS;
      await tx.insertInto('audit_log').values({
        at: now, principal: entry.principal, credential_id: entry.credentialId, source: entry.source, action: entry.action,
        target: entry.target, result: entry.result, reason: entry.reason, status: entry.status, prev_hash: prev, hash: hashOf(prev, now, entry),
      }).execute();
    });
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

  /** Walks the whole chain; the first record whose hash or link does not hold is where it broke. */
  async verify(): Promise<{ valid: boolean; records: number; brokenAt: number | null }> {
    let prev = GENESIS;
    let records = 0;
    let after = 0;
    for (;;) {
      const rows = await this.db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(1000).execute();
      if (!rows.length) return { valid: true, records, brokenAt: null };
      for (const row of rows) {
        const entry = toRecord(row);
        if (row.prev_hash !== prev || row.hash !== hashOf(prev, Number(row.at), entry)) return { valid: false, records, brokenAt: row.seq };
        prev = row.hash;
        records++;
        after = row.seq;
      }
    }
  }
}

function toRecord(row: Selectable<AuditLogTable>): AuditRecord {
  return {
    seq: row.seq, at: isoTime(row.at)!, principal: row.principal, credentialId: row.credential_id,
    source: row.source, action: row.action, target: row.target, result: row.result as AuditRecord['result'], reason: row.reason,
    status: row.status, hash: row.hash,
  };
}
