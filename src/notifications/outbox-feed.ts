// Each replica's view of the outbox: it reads new events as soon as it hears of them (a
// PostgreSQL NOTIFY from whichever replica wrote them, or this process's own appends) and at
// every poll otherwise, and hands them to in-process subscribers: the wake-up of waiters
// (long polls, event streams) and of the queue. It starts at the newest event: it is not a
// durable consumer (see outbox-dispatcher.ts for those).
import type { Logger } from 'pino';
import type { OutboxRepository, StoredOutboxEvent } from '../store/outbox-repository.js';

export type OutboxSubscriber = (event: StoredOutboxEvent) => void;

export class OutboxFeed {
  private position = 0;
  private readonly subscribers: OutboxSubscriber[] = [];
  private reading: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly outbox: OutboxRepository, private readonly log: Logger, private readonly pollMs: number) {}

  async start(): Promise<void> {
    this.position = await this.outbox.last();
    this.timer = setInterval(() => this.read(), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  subscribe(subscriber: OutboxSubscriber): void {
    this.subscribers.push(subscriber);
  }

  /** Reads what is new now (after a notification) rather than at the next poll. */
  read(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readNew()
      .catch((error) => this.log.warn({ err: error }, 'could not read the outbox'))
      .finally(() => {
        this.reading = undefined;
        if (this.again) {
          this.again = false;
          this.read();
        }
      });
  }

  private async readNew(): Promise<void> {
    for (;;) {
      const events = await this.outbox.after(this.position);
      if (!events.length) return;
      for (const event of events) {
        this.position = event.seq;
        for (const subscriber of this.subscribers) subscriber(event);
      }
    }
  }
}
