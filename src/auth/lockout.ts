// Brute-force protection: failed authentications are counted per source address in a sliding
// window, in the database so every replica sees them; past the limit the source is refused
// (429 with Retry-After) until the window has moved on.
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

export interface LockoutPolicy {
  maxFailures: number;
  windowSeconds: number;
}

export class Lockout {
  constructor(private readonly db: Kysely<Database>, private readonly policy: LockoutPolicy) {}

  async recordFailure(source: string, now = Date.now()): Promise<void> {
    await this.db.insertInto('auth_failures').values({ source, at: now }).execute();
    await this.db.deleteFrom('auth_failures').where('at', '<', now - this.policy.windowSeconds * 1000).execute();
  }

  /** Seconds until the source may try again, or 0 when it is not locked out. */
  async retryAfter(source: string, now = Date.now()): Promise<number> {
    const windowStart = now - this.policy.windowSeconds * 1000;
    const rows = await this.db.selectFrom('auth_failures').select('at').where('source', '=', source).where('at', '>=', windowStart)
      .orderBy('at', 'desc').limit(this.policy.maxFailures).execute();
    if (rows.length < this.policy.maxFailures) return 0;
    const oldestCounted = Number(rows.at(-1)!.at);
    return Math.max(1, Math.ceil((oldestCounted + this.policy.windowSeconds * 1000 - now) / 1000));
  }
}
