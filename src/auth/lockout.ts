// Brute-force protection: failed authentications (wrong credentials, wrong one-time codes) are
// counted per source address and per principal in a sliding window, in the database so every
// replica sees them; past the limit the subject is refused (429 with Retry-After) until the
// window has moved on.
import { TooManyRequestsError } from '../errors.js';
import type { AuthFailureRepository } from '../store/auth-failure-repository.js';

export interface LockoutPolicy {
  maxFailures: number;
  windowSeconds: number;
}

export const bySource = (address: string) => `source:${address}`;
export const byPrincipal = (name: string) => `principal:${name}`;

/**
 * Seconds until a subject may try again, from its newest failures (newest first): locked out
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

  recordFailure(subjects: readonly string[], now = Date.now()): Promise<void> {
    return this.failures.record(subjects, now, now - this.policy.windowSeconds * 1000);
  }

  /** Seconds until the subject may try again, or 0 when it is not locked out. */
  async retryAfter(subject: string, now = Date.now()): Promise<number> {
    const recent = await this.failures.recent(subject, now - this.policy.windowSeconds * 1000, this.policy.maxFailures);
    return lockoutWait(recent, this.policy, now);
  }

  /** Refuses (429) when any of the subjects is locked out. */
  async check(subjects: readonly string[], now = Date.now()): Promise<void> {
    for (const subject of subjects) {
      const wait = await this.retryAfter(subject, now);
      if (wait > 0) throw new TooManyRequestsError('locked_out', `too many failed authentications from this ${subject.split(':')[0]}`, wait);
    }
  }
}
