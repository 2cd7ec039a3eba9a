// When a failed delivery is tried again: the Standard Webhooks schedule (immediately, 5 s,
// 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h after the attempt before), each delay spread
// by ±10 % so endpoints that failed together are not all retried in the same second, and never
// sooner than the receiver's Retry-After.

export const DEFAULT_RETRY_SECONDS = [0, 5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400] as const;

/** The longest Retry-After honoured: a day, the schedule's own longest wait. */
const MAX_RETRY_AFTER_SECONDS = 86_400;

/**
 * When attempt number `attemptsMade + 1` is due, or undefined when the schedule is used up
 * (`schedule[i]` is the wait before attempt i + 1; the first is normally 0).
 */
export function nextAttemptAt(schedule: readonly number[], attemptsMade: number, now: number, retryAfterSeconds?: number, random = Math.random): number | undefined {
  const wait = schedule[attemptsMade];
  if (wait === undefined) return undefined;
  const jittered = wait * 1000 * (0.9 + 0.2 * random());
  const asked = Math.min(retryAfterSeconds ?? 0, MAX_RETRY_AFTER_SECONDS) * 1000;
  return now + Math.round(Math.max(jittered, asked));
}
