// Durable consumers of the outbox (webhooks, chat, metrics): each consumer has a position in
// the database, and one replica at a time holds its lease and hands it the events after that
// position, in order, at least once: a consumer that fails, or a replica that dies, leaves the
// position where it was and the events are handed again.
import type { Logger } from 'pino';
import type { OutboxRepository, StoredOutboxEvent } from '../store/outbox-repository.js';

export interface OutboxConsumer {
  /** Stable: the consumer's position is stored under it. */
  name: string;
  /** Handles one event; throwing leaves it to be handed again. */
  handle(event: StoredOutboxEvent): Promise<void>;
}

export class OutboxDispatcher {
  private readonly consumers: OutboxConsumer[] = [];
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly log: Logger,
    private readonly options: { owner: string; leaseMs: number; pollMs: number },
  ) {}

  register(consumer: OutboxConsumer): void {
    this.consumers.push(consumer);
  }

  start(): void {
    this.timer = setInterval(() => this.dispatch(), this.options.pollMs);
    this.timer.unref();
    this.dispatch();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    for (const consumer of this.consumers) await this.outbox.releaseConsumer(consumer.name, this.options.owner).catch(() => undefined);
  }

  /** Hands new events to every consumer whose lease this replica holds or can take. */
  dispatch(): void {
    if (!this.consumers.length) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = Promise.all(this.consumers.map((consumer) => this.feed(consumer)))
      .then(() => undefined)
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.dispatch();
        }
      });
  }

  private async feed(consumer: OutboxConsumer): Promise<void> {
    try {
      let position = await this.outbox.leaseConsumer(consumer.name, this.options.owner, this.options.leaseMs);
      if (position === undefined) return; // another replica serves this consumer
      for (;;) {
        const events = await this.outbox.after(position, 100);
        if (!events.length) return;
        for (const event of events) {
          await consumer.handle(event);
          position = event.seq;
          if (!(await this.outbox.advance(consumer.name, this.options.owner, position))) return; // lease lost
        }
        await this.outbox.leaseConsumer(consumer.name, this.options.owner, this.options.leaseMs);
      }
    } catch (error) {
      this.log.warn({ err: error, consumer: consumer.name }, 'outbox consumer failed; its events will be handed again');
    }
  }
}
