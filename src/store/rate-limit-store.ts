// A store for @fastify/rate-limit that counts in the database, so every replica sharing it
// counts the same requests: fixed windows per key, one upsert per request. SQLite serves one
// process, whose in-memory store is enough; PostgreSQL, which replicas share, uses this one.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;

const PRUNE_EVERY_MS = 60_000;

export function databaseRateLimitStore(db: Kysely<Database>) {
  let prunedAt = 0;
  return class DatabaseRateLimitStore {
    incr(key: string, callback: Callback, timeWindow: number): void {
      const now = Date.now();
      const windowStart = now - (now % timeWindow);
      db.insertInto('rate_limits').values({ key, window_start: windowStart, hits: 1 })
        .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet((eb) => ({ hits: eb('rate_limits.hits', '+', 1) })))
        .returning('hits').executeTakeFirstOrThrow()
        .then(async (row) => {
          if (now - prunedAt > PRUNE_EVERY_MS) {
            prunedAt = now;
            await db.deleteFrom('rate_limits').where('window_start', '<', windowStart - timeWindow).execute();
          }
          callback(null, { current: Number(row.hits), ttl: windowStart + timeWindow - now });
        }, (error: Error) => callback(error));
    }

    child(): DatabaseRateLimitStore {
      return this;
    }
  };
}
