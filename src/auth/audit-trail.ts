// The audit trail: append-only, one record per mutation and per refusal. Each record carries
// the hash of the one before it, so editing or deleting history breaks the chain, and verify()
// finds where.
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditEntry, AuditFilter, AuditRecord, AuditRepository } from '../store/audit-repository.js';
import type { Page } from '../store/rows.js';
import type { Database } from '../store/schema.js';

export type { AuditEntry, AuditFilter, AuditRecord };

const GENESIS = '0'.repeat(64);

function hashOf(prev: string, at: number, entry: AuditEntry): string {
  const canonical = JSON.stringify([prev, at, entry.principal, entry.credentialId, entry.source, entry.action, entry.target, entry.result, entry.reason, entry.status]);
  return createHash('sha256').update(canonical).digest('hex');
}

export class AuditTrail {
  constructor(private readonly records: AuditRepository) {}

  /** Appends a record; inside `tx` it commits, or rolls back, with the change it records. */
  append(entry: AuditEntry, tx?: Kysely<Database>, now = Date.now()): Promise<void> {
    return this.records.append(entry, now, hashOf, GENESIS, tx);
  }

  list(filter: AuditFilter, limit: number, cursor?: string): Promise<Page<Omit<AuditRecord, 'prevHash'>>> {
    return this.records.list(filter, limit, cursor).then((page) => ({ ...page, items: page.items.map(({ prevHash: _, ...record }) => record) }));
  }

  /** Walks the whole chain; the first record whose hash or link does not hold is where it broke. */
  async verify(): Promise<{ valid: boolean; records: number; brokenAt: number | null }> {
    let prev = GENESIS;
    let records = 0;
    for await (const record of this.records.walk()) {
      if (record.prevHash !== prev || record.hash !== hashOf(prev, record.atMs, record)) return { valid: false, records, brokenAt: record.seq };
      prev = record.hash;
      records++;
    }
    return { valid: true, records, brokenAt: null };
  }
}
