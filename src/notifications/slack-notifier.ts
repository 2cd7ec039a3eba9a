// Posts to Slack from the outbox: the progress and result of operations queued from Slack (to
// the conversation's response_url, at most five posts within 30 minutes, as Slack allows), and
// approval requests with Approve and Reject buttons (chat.postMessage to the approval channel,
// with the bot token). Posts are best effort: one that fails is logged, never retried, and a
// slow Slack never holds up the outbox's other consumers (posts are not awaited by it).
import type { Logger } from 'pino';
import type { SecretBox } from '../auth/secret-box.js';
import type { StoredOutboxEvent } from '../store/outbox-repository.js';
import type { SlackRepository } from '../store/slack-repository.js';
import { publicEventOf } from './event-catalog.js';
import type { OutboxConsumer } from './outbox-dispatcher.js';
import { postOutbound } from './webhooks/outbound-request.js';
import type { Cidr } from './webhooks/target-guard.js';

const MAX_POSTS = 5;
const POST_WINDOW_MS = 30 * 60_000;
const POST_TIMEOUT_MS = 10_000;

const PROGRESS: Record<string, (data: { type: string; environment: string | null; id: string; errorCode?: unknown }) => string> = {
  'operation.started': (o) => `:arrow_forward: ${o.type} of ${o.environment} started (${o.id})`,
  'operation.succeeded': (o) => `:white_check_mark: ${o.type} of ${o.environment} succeeded (${o.id})`,
  'operation.failed': (o) => `:x: ${o.type} of ${o.environment} failed: ${String(o.errorCode ?? 'error')} (${o.id})`,
  'operation.cancelled': (o) => `:no_entry_sign: ${o.type} of ${o.environment} was cancelled (${o.id})`,
};

export interface SlackNotifierOptions {
  allow: readonly Cidr[];
  apiUrl: string;
  botToken?: string;
  approvalChannel?: string;
}

export class SlackNotifier implements OutboxConsumer {
  readonly name = 'slack';
  private readonly posting = new Set<Promise<void>>();

  constructor(private readonly slack: SlackRepository, private readonly box: SecretBox, private readonly log: Logger, private readonly options: SlackNotifierOptions) {}

  async handle(event: StoredOutboxEvent): Promise<void> {
    const kind = publicEventOf(event);
    // Past the posting window nothing may be posted any more (and old history is not read).
    if (!kind || !event.operationId || Date.parse(event.createdAt) < Date.now() - POST_WINDOW_MS) return;
    const progress = PROGRESS[kind.name];
    if (progress) {
      const sealed = await this.slack.takePost(event.operationId, MAX_POSTS, Date.now() - POST_WINDOW_MS);
      if (!sealed) return;
      const text = progress({ type: String(event.payload.type), environment: event.environment, id: event.operationId, errorCode: event.payload.errorCode });
      this.post(this.box.open(sealed), { response_type: 'ephemeral', replace_original: false, text }, {});
    } else if (kind.name === 'approval.requested' && this.options.botToken && this.options.approvalChannel) {
      this.post(`${this.options.apiUrl.replace(/\/+$/, '')}/chat.postMessage`, approvalMessage(this.options.approvalChannel, event), { authorization: `Bearer ${this.options.botToken}` });
    } else if (kind.name === 'maintenance.notice' && this.options.botToken && this.options.approvalChannel) {
      // The channel where changes are approved is where people watch for them.
      this.post(`${this.options.apiUrl.replace(/\/+$/, '')}/chat.postMessage`, { channel: this.options.approvalChannel, text: noticeText(event) }, { authorization: `Bearer ${this.options.botToken}` });
    }
  }

  /** Waits for posts still on their way (at shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.posting]);
  }

  private post(url: string, body: object, headers: Record<string, string>): void {
    const sent = postOutbound(url, JSON.stringify(body), headers, { allow: this.options.allow, timeoutMs: POST_TIMEOUT_MS })
      .then((answer) => {
        if (answer.status >= 300) this.log.warn({ status: answer.status }, 'Slack refused a post');
      })
      .catch((error: Error) => this.log.warn({ reason: error.message }, 'could not post to Slack'))
      .finally(() => this.posting.delete(sent));
    this.posting.add(sent);
  }
}

function noticeText(event: StoredOutboxEvent): string {
  const { type, notBefore, summary, requestedBy } = event.payload as { type?: string; notBefore?: string | null; summary?: Record<string, number> | null; requestedBy?: string };
  const changes = summary ? Object.entries(summary).filter(([k]) => k !== 'same').map(([k, n]) => `${k} ${n}`).join(', ') || 'no changes' : 'changes unknown';
  return `Scheduled maintenance: ${type ?? 'update'} of *${event.environment}* by ${requestedBy ?? 'someone'} at ${notBefore ?? 'the next window'} (${changes}): operation ${event.operationId}`;
}

function approvalMessage(channel: string, event: StoredOutboxEvent): object {
  const id = event.operationId!;
  const summary = event.payload.summary ? ` (${Object.entries(event.payload.summary as Record<string, number>).map(([k, n]) => `${k} ${n}`).join(', ')})` : '';
  const text = `${String(event.payload.requestedBy ?? 'someone')} asks to ${String(event.payload.type ?? 'update')} *${event.environment}*${summary}: operation ${id}`;
  return {
    channel,
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      {
        type: 'actions', block_id: `approval:${id}`, elements: [
          { type: 'button', action_id: 'approve', style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: id },
          { type: 'button', action_id: 'reject', style: 'danger', text: { type: 'plain_text', text: 'Reject' }, value: id },
        ],
      },
    ],
  };
}
