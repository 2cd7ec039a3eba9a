// Many callers at once asking for the same fresh value (a single-row read) share one query,
// without any of them getting a value read before it asked: a caller that arrives while a
// read is in flight waits for the next one, which starts when that read ends and serves
// everyone who arrived meanwhile. Under 50 concurrent requests that is two reads per round,
// not fifty, and each answer is still as fresh as a read of its own.

export class CoalescedRead<T> {
  private running: Promise<T> | undefined;
  private next: Promise<T> | undefined;

  constructor(private readonly read: () => Promise<T>) {}

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

  private start(): Promise<T> {
    const read = this.read();
    this.running = read;
    const clear = () => {
      if (this.running === read) this.running = undefined;
    };
    read.then(clear, clear);
    return read;
  }
}

const noop = () => undefined;
