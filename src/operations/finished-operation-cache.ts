// Finished operations never change again, so they are kept once read, and listing a page of
// history is a lookup by id rather than a read and a parse of every row. This is what keeps a
// 50-item page cheap with 100,000 operations in history.
import type { Operation } from './operation.js';

const DEFAULT_CAPACITY = 20_000;

export class FinishedOperationCache {
  private readonly entries = new Map<string, Operation>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  get(id: string): Operation | undefined {
    const operation = this.entries.get(id);
    if (operation !== undefined) {
      // Least recently used goes first: re-insert to mark this one as fresh.
      this.entries.delete(id);
      this.entries.set(id, operation);
    }
    return operation;
  }

  set(operation: Operation): void {
    this.entries.set(operation.id, operation);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}
