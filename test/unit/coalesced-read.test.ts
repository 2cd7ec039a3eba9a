// Shared reads must never answer a caller with a value read before it asked: that is what lets
// every request check the credentials version (and read a page of ids) without a query each.
import { describe, expect, it } from 'vitest';
import { CoalescedRead, KeyedCoalescedReads } from '../../src/store/coalesced-read.js';

/** A read whose answers the test releases one by one; each answer is the value when it started. */
function controlledRead() {
  let value = 0;
  const started: Array<{ saw: number; finish: () => void }> = [];
  const read = () => new Promise<number>((resolve) => {
    const saw = value;
    started.push({ saw, finish: () => resolve(saw) });
  });
  return { read, started, set: (v: number) => (value = v) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('a coalesced read', () => {
  it('answers callers that arrive during a read from the next read, never from the one in flight', async () => {
    const source = controlledRead();
    const reads = new CoalescedRead(source.read);
    const first = reads.current();
    source.set(1); // a change committed after the first read began
    const second = reads.current();
    const third = reads.current();
    expect(source.started).toHaveLength(1);
    source.started[0]!.finish();
    expect(await first).toBe(0);
    await tick();
    expect(source.started).toHaveLength(2); // one more read for both late callers
    source.started[1]!.finish();
    expect(await second).toBe(1);
    expect(await third).toBe(1);
  });

  it('starts a fresh read for a caller once nothing is in flight', async () => {
    const source = controlledRead();
    const reads = new CoalescedRead(source.read);
    const first = reads.current();
    source.started[0]!.finish();
    await first;
    source.set(2);
    const later = reads.current();
    source.started[1]!.finish();
    expect(await later).toBe(2);
  });

  it('gathered, shares a read among callers until it starts, and no longer once it has', async () => {
    const source = controlledRead();
    const reads = new CoalescedRead(source.read, true);
    const early = [reads.current(), reads.current()];
    expect(source.started).toHaveLength(0); // waits a turn of the event loop for the others
    await tick();
    expect(source.started).toHaveLength(1);
    source.set(3); // committed after the read began
    const late = reads.current();
    source.started[0]!.finish();
    expect(await Promise.all(early)).toEqual([0, 0]);
    await tick();
    await tick();
    expect(source.started).toHaveLength(2);
    source.started[1]!.finish();
    expect(await late).toBe(3);
  });

  it('keeps reads of different keys apart and forgets idle keys', async () => {
    const reads = new KeyedCoalescedReads<string>();
    const [a, b] = await Promise.all([reads.current('a', async () => 'A'), reads.current('b', async () => 'B')]);
    expect([a, b]).toEqual(['A', 'B']);
    await tick();
    expect((reads as unknown as { byKey: Map<string, unknown> }).byKey.size).toBe(0);
  });
});
