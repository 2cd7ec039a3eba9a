// A store for @fastify/rate-limit that counts in the database, so every replica sharing it
// counts the same requests: fixed windows per key. SQLite serves one process, whose in-memory
// store is enough; PostgreSQL, which replicas share, uses this one.
//
// Requests that arrive while a count is being written are counted together by the next
// statement: one upsert adds each key's share (hits + n) and returns its total, and the i-th
// request of a key's n is told total - n + i. Every count is committed before its request is
// answered, as with one upsert per request, but 50 concurrent requests cost two statements,
// not a hundred.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;

const PRUNE_EVERY_MS = 60_000;

interface Pending {
  key: string;
  windowStart: number;
  timeWindow: number;
  waiting: Callback[];
}

export function databaseRateLimitStore(db: Kysely<Database>) {
  let prunedAt = 0;
  let pending = new Map<string, Pending>();
  let writing = false;

  /** Counts a batch in one statement: each waiting request with its answer, nobody told yet. */
  const count = async (batch: Pending[]): Promise<Array<() => void>> => {
    const rows = await db.insertInto('rate_limits')
      .values(batch.map((p) => ({ key: p.key, window_start: p.windowStart, hits: p.waiting.length })))
      .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet((eb) => ({ hits: eb('rate_limits.hits', '+', eb.ref('excluded.hits')) })))
      .returning(['key', 'window_start', 'hits']).execute();
    const now = Date.now();
    const totals = new Map(rows.map((row) => [`${row.key}\n${Number(row.window_start)}`, Number(row.hits)]));
    return batch.flatMap((p) => {
      const first = (totals.get(`${p.key}\n${p.windowStart}`) ?? p.waiting.length) - p.waiting.length;
      return p.waiting.map((callback, i) => () => callback(null, { current: first + i + 1, ttl: p.windowStart + p.timeWindow - now }));
    });
  };

  const prune = async (batch: Pending[]) => {
    const now = Date.now();
    if (now - prunedAt <= PRUNE_EVERY_MS) return;
    prunedAt = now;
    const oldest = Math.min(...batch.map((p) => p.windowStart - p.timeWindow));
    await db.deleteFrom('rate_limits').where('window_start', '<', oldest).execute().catch(() => undefined); // tried again next minute
  };

  const drain = async () => {
    writing = true;
    while (pending.size) {
      const batch = [...pending.values()];
      pending = new Map();
      const answers = await count(batch).catch((error: Error) => batch.flatMap((p) => p.waiting.map((callback) => () => callback(error))));
      // Each request is answered once, whatever another's callback does: one that throws is
      // the caller's fault, reported as Node reports a throwing callback, after the others ran.
      for (const answer of answers) {
        try {
          answer();
        } catch (error) {
          process.nextTick(() => { throw error; });
        }
      }
      await prune(batch);
    }
    writing = false;
  };

  return class DatabaseRateLimitStore {
    incr(key: string, callback: Callback, timeWindow: number): void {
      const now = Date.now();
      const windowStart = now - (now % timeWindow);
      const id = `${key}\n${windowStart}`;
      const entry = pending.get(id);
      if (entry) entry.waiting.push(callback);
      else pending.set(id, { key, windowStart, timeWindow, waiting: [callback] });
      if (!writing) void drain();
    }

    child(): DatabaseRateLimitStore {
      return this;
    }
  };
}
