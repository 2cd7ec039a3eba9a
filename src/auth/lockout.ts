// Brute-force protection: failed authentications are counted per source in a sliding window,
// in the database so every replica sees them; past the limit the source is refused (429 with
// Retry-After) until the window has moved on.
import type { AuthFailureRepository } from '../store/auth-failure-repository.js';

export interface LockoutPolicy {
  maxFailures: number;
  windowSeconds: number;
}

/**
 * Seconds until a source may try again, from its newest failures (newest first): locked out
 * while `maxFailures` of them lie inside the window, until the oldest of those leaves it.
 */
export function lockoutWait(failures: readonly number[], policy: LockoutPolicy, now: number): number {
  if (failures.length < policy.maxFailures) return 0;
  const oldestCounted = failures[policy.maxFailures - 1]!;
  const wait = Math.ceil((oldestCounted + policy.windowSeconds * 1000 - now) / 1000);
  return wait > 0 ? wait : 0;
}

export class Lockout {
  constructor(private readonly failures: AuthFailureRepository, private readonly policy: LockoutPolicy) {}

  recordFailure(source: string, now = Date.now()): Promise<void> {
    return this.failures.record(source, now, now - this.policy.windowSeconds * 1000);
  }

  /** Seconds until the source may try again, or 0 when it is not locked out. */
  async retryAfter(source: string, now = Date.now()): Promise<number> {
    const recent = await this.failures.recent(source, now - this.policy.windowSeconds * 1000, this.policy.maxFailures);
    return lockoutWait(recent, this.policy, now);
  }
}
