// A FIFO queue that keeps its oldest items in memory and, past a bound, appends the rest to a
// file, reading them back in order as the memory empties: an operation's events wait here,
// in bounded memory, for as long as the database is away.
import { appendFileSync, closeSync, existsSync, openSync, readSync, rmSync } from 'node:fs';

const MEMORY_ITEMS = 500;
const READ_CHUNK = 256 * 1024;

export class SpillQueue<T> {
  private readonly memory: T[] = [];
  private spilled = 0;
  private readOffset = 0;
  private partial = '';

  constructor(private readonly file: string, private readonly memoryItems = MEMORY_ITEMS) {}

  push(item: T): void {
    if (this.spilled === 0 && this.memory.length < this.memoryItems) {
      this.memory.push(item);
      return;
    }
    // Once anything is spilled, everything newer goes behind it, so the order holds.
    appendFileSync(this.file, `${JSON.stringify(item)}\n`, { mode: 0o600 });
    this.spilled++;
  }

  peek(): T | undefined {
    if (!this.memory.length && this.spilled) this.readBack();
    return this.memory[0];
  }

  shift(): void {
    this.memory.shift();
  }

  get length(): number {
    return this.memory.length + this.spilled;
  }

  /** Removes the spool file once everything in it was taken. */
  close(): void {
    if (this.spilled === 0 && existsSync(this.file)) {
      rmSync(this.file, { force: true });
      this.readOffset = 0;
    }
  }

  private readBack(): void {
    const fd = openSync(this.file, 'r');
    try {
      const buffer = Buffer.alloc(READ_CHUNK);
      while (this.memory.length < this.memoryItems && this.spilled) {
        const read = readSync(fd, buffer, 0, READ_CHUNK, this.readOffset);
        if (read === 0) break;
        this.readOffset += read;
        const lines = (this.partial + buffer.subarray(0, read).toString('utf8')).split('\n');
        this.partial = lines.pop() ?? '';
        for (const line of lines) {
          this.memory.push(JSON.parse(line) as T);
          this.spilled--;
        }
      }
    } finally {
      closeSync(fd);
    }
  }
}
