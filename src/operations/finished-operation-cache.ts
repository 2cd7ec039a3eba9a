// Finished operations never change again, so their JSON is kept, and listing a page of
// history is a lookup by id rather than a parse and a serialisation of every row. This is
// what keeps a 50-item page cheap with 100,000 operations in history.

const DEFAULT_CAPACITY = 20_000;

export class FinishedOperationCache {
  private readonly entries = new Map<string, string>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  get(id: string): string | undefined {
    const json = this.entries.get(id);
    if (json !== undefined) {
      // Least recently used goes first: re-insert to mark this one as fresh.
      this.entries.delete(id);
      this.entries.set(id, json);
    }
    return json;
  }

  set(id: string, json: string): void {
    this.entries.set(id, json);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}
