// Waiting for a state instead of sleeping for a guessed time.
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves with the first truthy value `check` returns; fails after `seconds`, naming what it waited for. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, seconds = 60, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await sleep(everyMs);
  }
}
