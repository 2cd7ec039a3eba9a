// Readiness is checked in the background and served from the last result: however many
// callers ask at once, no call starts a check.
import { describe, expect, it } from 'vitest';
import { Readiness } from '../../src/http/readiness.js';

describe('readiness', () => {
  it('runs its checks once for any number of callers, and again only on its timer', async () => {
    let runs = 0;
    const check = async () => (runs++, true);
    const readiness = new Readiness({ database: check, toolchain: check, stateBackend: check }, 60_000);
    const answers = await Promise.all(Array.from({ length: 30 }, () => readiness.current()));
    expect(answers.every((a) => a.database && a.toolchain && a.stateBackend)).toBe(true);
    expect(runs).toBe(3); // one run of each check
    readiness.stop();
  });
});
