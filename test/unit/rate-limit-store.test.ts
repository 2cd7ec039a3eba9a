// The shared rate-limit store answers every request exactly once, with counts that add up,
// however requests are batched, and keeps working after a caller's callback throws.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type OpenDatabase } from '../../src/store/database.js';
import { databaseRateLimitStore } from '../../src/store/rate-limit-store.js';
import { createPostgresDatabase, DATABASES, type TestDatabase } from '../support/databases.js';

type Answer = { error: Error | null; current?: number };
type Store = InstanceType<ReturnType<typeof databaseRateLimitStore>>;
const WINDOW = 60_000;

/** Increments `key`; the array fills with every answer its callback is given. */
function answersTo(store: Store, key: string, onAnswer: () => void = () => undefined): Answer[] {
  const answers: Answer[] = [];
  store.incr(key, (error, result) => {
    answers.push({ error, current: result?.current });
    onAnswer();
  }, WINDOW);
  return answers;
}

/** Waits until every request has an answer, then a little longer, for any second answer to show. */
async function settled(...requests: Answer[][]): Promise<void> {
  const pause = () => new Promise((resolve) => setTimeout(resolve, 10));
  for (let i = 0; i < 500 && requests.some((answers) => answers.length === 0); i++) await pause();
  for (let i = 0; i < 5; i++) await pause();
}

describe.each(DATABASES)('the database rate-limit store on %s', (dialect) => {
  let dir: string;
  let postgres: TestDatabase | undefined;
  let open: OpenDatabase;
  const reopen = async () => (open = await openDatabase({ dataDir: dir, databaseUrl: postgres?.url }));
  const storeOf = (): Store => new (databaseRateLimitStore(open.db))();

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rate-limit-store-'));
    if (dialect === 'postgres') postgres = await createPostgresDatabase();
    await reopen();
  });
  afterEach(async () => {
    await open.close();
    await postgres?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts requests that arrive together and apart, one answer each', async () => {
    const store = storeOf();
    const together = Array.from({ length: 5 }, () => answersTo(store, 'ip:1'));
    await settled(...together);
    const later = answersTo(store, 'ip:1');
    const other = answersTo(store, 'ip:2');
    await settled(later, other);
    expect(together.map((answers) => answers.map((a) => a.current))).toEqual([[1], [2], [3], [4], [5]]);
    expect(later).toEqual([{ error: null, current: 6 }]);
    expect(other).toEqual([{ error: null, current: 1 }]);
  });

  it('answers every request once when one caller\'s callback throws, and goes on counting', async () => {
    const store = storeOf();
    const thrown: unknown[] = [];
    // The throw is reported as an uncaught exception, as Node reports a throwing callback; the
    // test takes it from the runner for the duration.
    const runners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (error) => thrown.push(error));
    try {
      const throwing = answersTo(store, 'ip:1', () => { throw new Error('caller bug'); });
      const beside = answersTo(store, 'ip:1');
      await settled(throwing, beside);
      expect(throwing).toEqual([{ error: null, current: 1 }]);
      expect(beside).toEqual([{ error: null, current: 2 }]);
      expect(thrown.map((error) => (error as Error).message)).toEqual(['caller bug']);
      const after = answersTo(store, 'ip:1');
      await settled(after);
      expect(after).toEqual([{ error: null, current: 3 }]);
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const listener of runners) process.on('uncaughtException', listener);
    }
  });

  it('gives every waiting request the database\'s error when the count cannot be written', async () => {
    const store = storeOf();
    await open.close();
    const first = answersTo(store, 'ip:1');
    const second = answersTo(store, 'ip:1');
    await settled(first, second);
    expect([first.length, second.length]).toEqual([1, 1]);
    expect(first[0]!.error).toBeInstanceOf(Error);
    expect(second[0]!.error).toBeInstanceOf(Error);
    await reopen(); // for afterEach
  });
});
