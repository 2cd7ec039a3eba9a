// The queue an operation's events wait in while the database is away: bounded memory, the
// rest in a file, everything handed back in order, and the file gone once emptied.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpillQueue } from '../../src/operations/spill-queue.js';

describe('the spill queue', () => {
  it('keeps at most its bound in memory, spills the rest to its file, and hands everything back in order', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'stackpilot-spill-')), 'op.jsonl');
    const queue = new SpillQueue<{ n: number; text: string }>(file, 3);
    for (let n = 0; n < 10; n++) queue.push({ n, text: `line ${n}\nwith a newline` });
    expect(existsSync(file)).toBe(true);
    expect(queue.length).toBe(10);
    const out: number[] = [];
    queue.push({ n: 10, text: 'late' });
    for (let item = queue.peek(); item; item = queue.peek()) {
      out.push(item.n);
      queue.shift();
      if (item.n === 4) queue.push({ n: 11, text: 'during' });
    }
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    queue.close();
    expect(existsSync(file)).toBe(false);
  });
});
