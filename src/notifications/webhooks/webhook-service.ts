// Webhook administration as the domain does it: register an endpoint (its secret is shown once),
// list, delete, read its deliveries, send one again. An endpoint may only hear of environments
// its creator administers ("*" needs admin of everything), and every refusal, bad URL or unknown
// event included, is audited before it is answered.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Actor } from '../../auth/actor.js';
import type { Action, Governance } from '../../auth/governance.js';
import { administersAll } from '../../auth/grant-rules.js';
import type { SecretBox } from '../../auth/secret-box.js';
import type { EnvironmentCatalog } from '../../environments/environment-catalog.js';
import { DomainError, ForbiddenError, InvalidInputError, NotFoundError } from '../../errors.js';
import type { Page } from '../../store/rows.js';
import type { Delivery, Webhook, WebhookRepository } from '../../store/webhook-repository.js';
import { EVENT_NAMES, isEventName } from '../event-catalog.js';
import { checkTarget, parseTargetUrl, type Cidr } from './target-guard.js';

export interface NewWebhook {
  url: string;
  events: string[];
  environments: '*' | string[];
}

const administer = (name: string, target: string): Action => ({ name, target, permission: 'admin', secondFactor: true });

export class WebhookService {
  constructor(
    private readonly governance: Governance,
    private readonly webhooks: WebhookRepository,
    private readonly catalog: EnvironmentCatalog,
    private readonly box: SecretBox,
    private readonly allow: readonly Cidr[],
    private readonly onChange: () => void = () => undefined,
  ) {}

  async create(actor: Actor, input: NewWebhook): Promise<{ webhook: Webhook; secret: string }> {
    const action = administer('createWebhook', `webhook:${input.url.slice(0, 120)}`);
    await this.governance.authorize(actor, action);
    await this.refusing(actor, action, async () => {
      const unknown = input.events.find((name) => !isEventName(name));
      if (unknown !== undefined) {
        throw new InvalidInputError('unknown_event', `no event named ${JSON.stringify(unknown.slice(0, 64))}; known: ${EVENT_NAMES.join(', ')}`, { field: 'events' });
      }
      if (input.environments !== '*') for (const environment of input.environments) this.catalog.require(environment);
      if (!administersAll(actor.grants, [{ role: 'admin', environments: input.environments }])) {
        throw new ForbiddenError('forbidden', input.environments === '*'
          ? 'a webhook for every environment ("*") needs an admin grant on "*"'
          : `${actor.principal} does not administer every environment the webhook names`);
      }
      await checkTarget(parseTargetUrl(input.url), this.allow);
    });
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const webhook = await this.governance.act(actor, action, (tx) => this.webhooks.insert(tx, {
      id: randomUUID(), url: input.url, events: JSON.stringify([...new Set(input.events)]), environments: JSON.stringify(input.environments),
      secret: this.box.seal(secret), created_by: actor.principal, created_at: Date.now(),
    }));
    this.onChange();
    return { webhook, secret };
  }

  /** The endpoints whose every environment the actor administers. */
  async list(actor: Actor): Promise<Webhook[]> {
    await this.governance.authorize(actor, administer('listWebhooks', 'webhooks'));
    return (await this.webhooks.list()).filter((hook) => this.reaches(actor, hook));
  }

  async delete(actor: Actor, id: string): Promise<void> {
    const action = administer('deleteWebhook', `webhook:${id}`);
    await this.visible(actor, action, id);
    await this.governance.act(actor, action, (tx) => this.webhooks.delete(tx, id, Date.now()));
  }

  async deliveries(actor: Actor, id: string, limit: number, cursor?: string): Promise<Page<Delivery>> {
    await this.visible(actor, administer('listWebhookDeliveries', `webhook:${id}`), id);
    return this.webhooks.deliveries(id, limit, cursor);
  }

  async redeliver(actor: Actor, id: string, deliveryId: string): Promise<Delivery> {
    const action = administer('redeliverWebhook', `webhook:${id}/delivery:${deliveryId}`);
    await this.visible(actor, action, id);
    const delivery = await this.governance.act(actor, action, async (tx) => {
      const found = await this.webhooks.redeliver(tx, id, deliveryId, Date.now());
      if (!found) throw new NotFoundError('delivery_not_found', `webhook ${id} has no delivery ${deliveryId}`);
      return found;
    });
    this.onChange();
    return delivery;
  }

  private reaches(actor: Actor, hook: Webhook): boolean {
    return administersAll(actor.grants, [{ role: 'admin', environments: hook.environments }]);
  }

  /** The endpoint, if the actor administers what it reaches; the same 404 otherwise. */
  private async visible(actor: Actor, action: Action, id: string): Promise<void> {
    await this.governance.authorize(actor, action);
    const row = await this.webhooks.row(id);
    if (!row || !this.reaches(actor, { environments: JSON.parse(row.environments) } as Webhook)) {
      throw await this.governance.refuse(actor, action, new NotFoundError('webhook_not_found', `no webhook with id ${id}`));
    }
  }

  /** Runs checks whose refusal is audited before it is thrown. */
  private async refusing(actor: Actor, action: Action, checks: () => Promise<void>): Promise<void> {
    try {
      await checks();
    } catch (error) {
      if (error instanceof DomainError) throw await this.governance.refuse(actor, action, error);
      throw error;
    }
  }
}
