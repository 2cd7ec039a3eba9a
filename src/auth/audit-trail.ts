// The audit trail: append-only, one record per mutation and per refusal. Each record carries a
// MAC of itself and of the record before it, keyed with a secret that is not in the database
// (derived from the secrets passphrase), so a record cannot be edited, nor the chain rebuilt
// after an edit or a deletion, without that secret. The newest record's position and MAC are
// written out of the database every minute (the anchors file and the service log), so removing
// the newest records is seen too. verify() walks the chain and checks it against the anchors.
// Records written before MACs (version 1, plain SHA-256) are checked as such, and only before
// the first MAC'd one.
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditChain, AuditEntry, AuditFilter, AuditRecord, AuditRepository } from '../store/audit-repository.js';
import type { Page } from '../store/rows.js';
import type { Database } from '../store/schema.js';
import type { AuditAnchors } from './audit-anchors.js';

export type { AuditEntry, AuditFilter, AuditRecord };

const GENESIS = '0'.repeat(64);

export interface Verification {
  valid: boolean;
  records: number;
  /** The first record whose MAC or link does not hold. */
  brokenAt: number | null;
  /** The newest position an anchor outside the database vouches for. */
  anchoredThrough: number | null;
  /** Records the anchors vouch for are missing: the newest ones were removed. */
  truncated: boolean;
}

function canonical(prev: string, at: number, entry: AuditEntry, version: number): string {
  const fields = [prev, at, entry.principal, entry.credentialId, entry.source, entry.action, entry.target, entry.result, entry.reason, entry.status];
  return JSON.stringify(version === 1 ? fields : [...fields, entry.environment ?? null, entry.repeats ?? 1]);
}

export class AuditTrail {
  private readonly chain: AuditChain;

  constructor(private readonly records: AuditRepository, secret: string, private readonly anchors: AuditAnchors) {
    const key = Buffer.from(hkdfSync('sha256', secret, 'stackpilot', 'audit chain v2', 32));
    this.chain = { genesis: GENESIS, version: 2, hash: (prev, at, entry) => createHmac('sha256', key).update(canonical(prev, at, entry, 2)).digest('hex') };
  }

  private readonly refusalListeners: Array<(reason: string, count: number) => void> = [];

  /** Told of every refusal recorded (the metrics count them by reason). */
  onRefusal(listener: (reason: string, count: number) => void): void {
    this.refusalListeners.push(listener);
  }

  /** Appends a record; inside `tx` it commits, or rolls back, with the change it records. */
  async append(entry: AuditEntry, tx?: Kysely<Database>, now = Date.now()): Promise<void> {
    await this.records.append(entry, now, this.chain, tx);
    if (entry.result === 'refused') for (const listener of this.refusalListeners) listener(entry.reason ?? 'unknown', entry.repeats ?? 1);
  }

  async list(filter: AuditFilter, limit: number, cursor?: string): Promise<Page<Omit<AuditRecord, 'prevHash' | 'atMs' | 'chainVersion'>>> {
    const page = await this.records.list(filter, limit, cursor);
    return { ...page, items: page.items.map(({ prevHash: _p, atMs: _a, chainVersion: _c, ...record }) => record) };
  }

  /** Writes the newest record's position and MAC outside the database. */
  async anchor(): Promise<void> {
    const head = await this.records.head();
    if (head) this.anchors.write(head);
  }

  async verify(): Promise<Verification> {
    const anchors = this.anchors.read();
    let prev = GENESIS;
    let records = 0;
    let macSeen = false;
    let last = 0;
    const anchorAt = new Map(anchors.map((a) => [a.seq, a.hash]));
    for await (const record of this.records.walk()) {
      const expected = record.chainVersion === 1 && !macSeen
        ? createHash('sha256').update(canonical(prev, record.atMs, record, 1)).digest('hex')
        : this.chain.hash(prev, record.atMs, record);
      macSeen ||= record.chainVersion !== 1;
      const anchored = anchorAt.get(record.seq);
      if (record.prevHash !== prev || record.hash !== expected || (anchored !== undefined && anchored !== record.hash)) {
        return { valid: false, records, brokenAt: record.seq, anchoredThrough: newest(anchors), truncated: false };
      }
      prev = record.hash;
      records++;
      last = record.seq;
    }
    const anchoredThrough = newest(anchors);
    const truncated = anchoredThrough !== null && anchoredThrough > last;
    return { valid: !truncated, records, brokenAt: null, anchoredThrough, truncated };
  }
}

function newest(anchors: ReadonlyArray<{ seq: number }>): number | null {
  return anchors.length ? Math.max(...anchors.map((a) => a.seq)) : null;
}
