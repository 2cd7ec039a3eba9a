// Brute-force protection: failed authentications (wrong credentials, wrong one-time codes) are
// counted per source address and per principal in a sliding window, in the database so every
// replica sees them; past the limit the subject is refused (429 with Retry-After) until the
// window has moved on.
import { TooManyRequestsError } from '../errors.js';
import { remember, UNCACHED, type CredentialView } from './credential-cache.js';
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
  return waitUntil(unlockAt(failures, policy), now);
}

/**
 * When the lockout these failures make ends (0: none). Only a new failure changes it (and
 * changes the credentials version), so it may be cached and compared with the time per request.
 */
function unlockAt(failures: readonly number[], policy: LockoutPolicy): number {
  return failures.length < policy.maxFailures ? 0 : failures[policy.maxFailures - 1]! + policy.windowSeconds * 1000;
}

function waitUntil(at: number, now: number): number {
  const wait = Math.ceil((at - now) / 1000);
  return wait > 0 ? wait : 0;
}

export class Lockout {
  constructor(private readonly failures: AuthFailureRepository, private readonly policy: LockoutPolicy) {}

  recordFailure(subjects: readonly string[], now = Date.now()): Promise<void> {
    return this.failures.record(subjects, now, now - this.policy.windowSeconds * 1000);
  }

  /** Seconds until the subject may try again, or 0 when it is not locked out. */
  async retryAfter(subject: string, now = Date.now(), view: CredentialView = UNCACHED): Promise<number> {
    const at = await remember(view, `lockout:${subject}`, async () =>
      unlockAt(await this.failures.recent(subject, now - this.policy.windowSeconds * 1000, this.policy.maxFailures), this.policy));
    return waitUntil(at, now);
  }

  /** Refuses (429) when any of the subjects is locked out. */
  async check(subjects: readonly string[], now = Date.now(), view: CredentialView = UNCACHED): Promise<void> {
    for (const subject of subjects) {
      const wait = await this.retryAfter(subject, now, view);
      if (wait > 0) throw new TooManyRequestsError('locked_out', `too many failed authentications from this ${subject.split(':')[0]}`, wait);
    }
  }
}
