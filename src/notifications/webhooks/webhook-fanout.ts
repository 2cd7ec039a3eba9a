// The outbox consumer that turns each public event into one delivery per subscribed endpoint.
// It only writes rows (durable at once); the sender sends them. Handed the same event again
// (after a failure, or by another replica after a lost lease), it adds nothing twice.
import { randomUUID } from 'node:crypto';
import type { StoredOutboxEvent } from '../../store/outbox-repository.js';
import type { WebhookRepository, WebhookRow } from '../../store/webhook-repository.js';
import { eventData, publicEventOf } from '../event-catalog.js';
import type { OutboxConsumer } from '../outbox-dispatcher.js';

export class WebhookFanout implements OutboxConsumer {
  readonly name = 'webhooks';

  constructor(private readonly webhooks: WebhookRepository, private readonly onAdded: () => void) {}

  async handle(event: StoredOutboxEvent): Promise<void> {
    const kind = publicEventOf(event);
    if (!kind) return;
    // An endpoint hears of what happens after it was registered, not of older history.
    const at = Date.parse(event.createdAt);
    const targets = (await this.webhooks.active()).filter((hook) => Number(hook.created_at) <= at && subscribed(hook, kind.name, event.environment));
    if (!targets.length) return;
    // The body every attempt sends, fixed now: the Standard Webhooks envelope.
    const payload = JSON.stringify({ type: kind.name, timestamp: event.createdAt, data: eventData(event) });
    const now = Date.now();
    for (const hook of targets) {
      await this.webhooks.addDelivery({
        id: `msg_${randomUUID().replaceAll('-', '')}`, webhook_id: hook.id, event_seq: event.seq, event: kind.name,
        environment: event.environment, payload, created_at: now, next_attempt_at: now,
      });
    }
    this.onAdded();
  }
}

function subscribed(hook: WebhookRow, name: string, environment: string | null): boolean {
  if (hook.disabled_at !== null || !(JSON.parse(hook.events) as string[]).includes(name)) return false;
  const environments = JSON.parse(hook.environments) as '*' | string[];
  return environments === '*' || environment === null || environments.includes(environment);
}
