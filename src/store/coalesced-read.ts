// Many callers at once asking for the same fresh value (a single-row read) share one query,
// without any of them getting a value read before it asked: a caller that arrives while a
// read is in flight waits for the next one, which starts when that read ends and serves
// everyone who arrived meanwhile. Under 50 concurrent requests that is two reads per round,
// not fifty, and each answer is still as fresh as a read of its own.

export class CoalescedRead<T> {
  private running: Promise<T> | undefined;
  private next: Promise<T> | undefined;

  /**
   * `gather`: a read starts only once the event loop has taken in what else arrived with its
   * first caller (setImmediate), and they share it. For a database whose queries run on the
   * event loop (SQLite), where a read would otherwise be done before anyone else could join it.
   */
  constructor(private readonly read: () => Promise<T>, private readonly gather = false) {}

  current(): Promise<T> {
    if (this.next) return this.next; // not started yet: it starts after this call, so it is fresh enough
    if (!this.running) return this.start();
    const settled = this.running.then(noop, noop);
    this.next = settled.then(() => {
      this.next = undefined;
      return this.start();
    });
    return this.next;
  }

  /** Nothing in flight and nothing waiting. */
  get idle(): boolean {
    return !this.running && !this.next;
  }

  private start(): Promise<T> {
    if (!this.gather) return this.begin();
    const gathered = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.next = undefined;
      return this.begin();
    });
    this.next = gathered; // not started: later callers join it
    return gathered;
  }

  private begin(): Promise<T> {
    const read = this.read();
    this.running = read;
    const clear = () => {
      if (this.running === read) this.running = undefined;
    };
    read.then(clear, clear);
    return read;
  }
}

/** The same, for reads told apart by a key (its arguments); a key is forgotten once idle. */
export class KeyedCoalescedReads<T> {
  private readonly byKey = new Map<string, CoalescedRead<T>>();

  constructor(private readonly gather = false) {}

  /** `read` is the read for `key`: every caller with the same key passes the same one. */
  current(key: string, read: () => Promise<T>): Promise<T> {
    let reads = this.byKey.get(key);
    if (!reads) this.byKey.set(key, reads = new CoalescedRead(read, this.gather));
    const value = reads.current();
    const forget = () => {
      if (reads.idle && this.byKey.get(key) === reads) this.byKey.delete(key);
    };
    value.then(forget, forget);
    return value;
  }
}

const noop = () => undefined;
