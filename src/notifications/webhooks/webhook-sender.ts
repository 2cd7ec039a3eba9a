// Sends due deliveries: each claimed under a lease (so one replica sends it), signed per
// Standard Webhooks with the endpoint's secret, the same webhook-id on every attempt. Up to
// MAX_IN_FLIGHT run at once and each is cut after 10 s, so a receiver that hangs holds one slot
// for a while and never the others. 2xx: delivered. 410: the endpoint is disabled. Anything
// else: retried on the schedule, honouring Retry-After, until the schedule is used up.
import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import type { SecretBox } from '../../auth/secret-box.js';
import type { DeliveryRow, WebhookRepository } from '../../store/webhook-repository.js';
import { CoalescedTask } from '../coalesced-task.js';
import { postOutbound, type OutboundAnswer } from './outbound-request.js';
import { nextAttemptAt } from './retry-schedule.js';
import type { Cidr } from './target-guard.js';

export const DELIVERY_TIMEOUT_MS = 10_000;
const MAX_IN_FLIGHT = 16;

/** What one attempt came to, as the metrics count it. */
export type AttemptResult = 'delivered' | 'retrying' | 'failed' | 'disabled';

export interface SenderOptions {
  owner: string;
  pollMs: number;
  /** Seconds before each attempt (see retry-schedule.ts). */
  schedule: readonly number[];
  allow: readonly Cidr[];
  onAttempt?(result: AttemptResult): void;
}

export class WebhookSender {
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly claiming: CoalescedTask;
  private stopped = false;

  constructor(
    private readonly webhooks: WebhookRepository,
    private readonly box: SecretBox,
    private readonly log: Logger,
    private readonly options: SenderOptions,
  ) {
    this.claiming = new CoalescedTask(() => this.claimDue(), (error) => this.log.warn({ err: error }, 'could not read due webhook deliveries'));
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.pollMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.claiming.idle();
    await Promise.allSettled(this.inFlight.values());
  }

  /** Looks for due deliveries now (after new ones were added) rather than at the next poll. */
  kick(): void {
    if (!this.stopped) this.claiming.run();
  }

  private async claimDue(): Promise<void> {
    const free = MAX_IN_FLIGHT - this.inFlight.size;
    if (free <= 0) return;
    const now = Date.now();
    for (const id of await this.webhooks.due(free + this.inFlight.size, now)) {
      if (this.inFlight.has(id) || this.inFlight.size >= MAX_IN_FLIGHT) continue;
      // The lease outlasts the attempt's time limit, so no other replica sends it meanwhile.
      const delivery = await this.webhooks.claim(id, this.options.owner, DELIVERY_TIMEOUT_MS * 3, now);
      if (!delivery) continue; // another replica took it
      const attempt = this.attempt(delivery).catch((error) => this.log.warn({ err: error, delivery: id }, 'could not record a webhook attempt'))
        .finally(() => {
          this.inFlight.delete(id);
          this.kick();
        });
      this.inFlight.set(id, attempt);
    }
  }

  private async attempt(delivery: DeliveryRow): Promise<void> {
    const hook = await this.webhooks.row(delivery.webhook_id);
    const attempts = Number(delivery.attempts) + 1;
    const settle = (fields: { status: string; last_status: number | null; last_error: string | null; next_attempt_at?: number; delivered_at?: number | null }) =>
      this.webhooks.settle(delivery.id, this.options.owner, { attempts, next_attempt_at: delivery.next_attempt_at, delivered_at: null, ...fields });
    if (!hook || hook.disabled_at !== null) {
      await settle({ status: 'failed', last_status: null, last_error: hook ? `the endpoint is disabled: ${hook.disabled_reason}` : 'the webhook was deleted' });
      return;
    }
    let answer: OutboundAnswer | undefined;
    let failure: string | undefined;
    try {
      answer = await postOutbound(hook.url, delivery.payload, this.signedHeaders(delivery, hook.secret), { allow: this.options.allow, timeoutMs: DELIVERY_TIMEOUT_MS });
    } catch (error) {
      failure = describeFailure(error);
    }
    const now = Date.now();
    if (answer && answer.status >= 200 && answer.status < 300) {
      await settle({ status: 'delivered', last_status: answer.status, last_error: null, delivered_at: now });
      return this.options.onAttempt?.('delivered');
    }
    if (answer?.status === 410) {
      await this.webhooks.disable(hook.id, 'the endpoint answered 410 Gone', now);
      await settle({ status: 'failed', last_status: 410, last_error: 'the endpoint answered 410 Gone: it is disabled' });
      this.log.info({ webhook: hook.id }, 'webhook endpoint answered 410 Gone: disabled');
      return this.options.onAttempt?.('disabled');
    }
    const lastError = failure ?? `the endpoint answered ${answer!.status}`;
    const next = nextAttemptAt(this.options.schedule, attempts, now, answer?.retryAfterSeconds);
    await settle(next === undefined
      ? { status: 'failed', last_status: answer?.status ?? null, last_error: `${lastError}; gave up after ${attempts} attempts` }
      : { status: 'pending', last_status: answer?.status ?? null, last_error: lastError, next_attempt_at: next });
    this.options.onAttempt?.(next === undefined ? 'failed' : 'retrying');
  }

  /** Standard Webhooks headers; the secret is opened only here, in memory, to sign. */
  private signedHeaders(delivery: DeliveryRow, sealedSecret: string): Record<string, string> {
    const timestamp = new Date();
    const signature = new Webhook(this.box.open(sealedSecret)).sign(delivery.id, timestamp, delivery.payload);
    return { 'webhook-id': delivery.id, 'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)), 'webhook-signature': signature };
  }
}

/** A failed attempt in a few words: no URL credentials, no headers, no secret. */
function describeFailure(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'webhook_target_refused' || code === 'ETARGETREFUSED' || code === 'ETIMEDOUT') return String(message);
  return code ? `the request failed: ${code}` : 'the request failed';
}
