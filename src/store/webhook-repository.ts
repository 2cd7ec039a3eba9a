// Webhook endpoints and their deliveries. A delivery is claimed with a conditional update under
// a lease (on the database's clock), so among replicas one sends it; a sender that dies leaves
// the lease to expire and the delivery to be sent again, with the same id.
import type { Kysely, Selectable } from 'kysely';
import { databaseNow, databaseNowPlus } from './clock.js';
import type { DialectName } from './migrations.js';
import { decodeCursor, isoTime, keysetPage, type Page } from './rows.js';
import type { Database, WebhookDeliveriesTable, WebhooksTable } from './schema.js';

export type WebhookRow = Selectable<WebhooksTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  environments: '*' | string[];
  createdBy: string;
  createdAt: string;
  disabledAt: string | null;
  disabledReason: string | null;
}

export interface Delivery {
  id: string;
  webhookId: string;
  event: string;
  environment: string | null;
  status: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export class WebhookRepository {
  constructor(private readonly db: Kysely<Database>, private readonly dialect: DialectName) {}

  async insert(tx: Kysely<Database>, webhook: Omit<WebhookRow, 'seq' | 'disabled_at' | 'disabled_reason' | 'deleted_at'>): Promise<Webhook> {
    const row = await tx.insertInto('webhooks').values(webhook).returningAll().executeTakeFirstOrThrow();
    return toWebhook(row);
  }

  async list(): Promise<Webhook[]> {
    return (await this.active()).map(toWebhook);
  }

  /** Every endpoint not deleted, with its sealed secret: for delivery only. */
  active(): Promise<WebhookRow[]> {
    return this.db.selectFrom('webhooks').selectAll().where('deleted_at', 'is', null).orderBy('seq').execute();
  }

  row(id: string, db: Kysely<Database> = this.db): Promise<WebhookRow | undefined> {
    return db.selectFrom('webhooks').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  }

  async delete(tx: Kysely<Database>, id: string, now: number): Promise<void> {
    await tx.updateTable('webhooks').set({ deleted_at: now }).where('id', '=', id).execute();
    await tx.updateTable('webhook_deliveries').set({ status: 'failed', last_error: 'the webhook was deleted' })
      .where('webhook_id', '=', id).where('status', '=', 'pending').execute();
  }

  async disable(id: string, reason: string, now: number): Promise<void> {
    await this.db.updateTable('webhooks').set({ disabled_at: now, disabled_reason: reason }).where('id', '=', id).where('disabled_at', 'is', null).execute();
  }

  /** Adds a delivery; the same event for the same endpoint again is a no-op. */
  async addDelivery(delivery: Pick<DeliveryRow, 'id' | 'webhook_id' | 'event_seq' | 'event' | 'environment' | 'payload' | 'created_at' | 'next_attempt_at'>): Promise<void> {
    await this.db.insertInto('webhook_deliveries').values({ ...delivery, status: 'pending' })
      .onConflict((oc) => oc.columns(['webhook_id', 'event_seq']).doNothing()).execute();
  }

  /** Ids of deliveries due now whose lease is free. */
  async due(limit: number, now: number): Promise<string[]> {
    const rows = await this.db.selectFrom('webhook_deliveries').select('id')
      .where('status', '=', 'pending').where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_expires_at', '<', databaseNow(this.dialect))]))
      .orderBy('next_attempt_at').limit(limit).execute();
    return rows.map((r) => r.id);
  }

  /** Takes a due delivery for `owner`: undefined when another replica took it first. */
  claim(id: string, owner: string, leaseMs: number, now: number): Promise<DeliveryRow | undefined> {
    return this.db.updateTable('webhook_deliveries').set({ lease_owner: owner, lease_expires_at: databaseNowPlus(this.dialect, leaseMs) })
      .where('id', '=', id).where('status', '=', 'pending').where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_expires_at', '<', databaseNow(this.dialect))]))
      .returningAll().executeTakeFirst();
  }

  /** Records an attempt's outcome and lets go of the lease. */
  async settle(id: string, owner: string, outcome: Pick<DeliveryRow, 'status' | 'attempts' | 'last_status' | 'last_error' | 'next_attempt_at' | 'delivered_at'>): Promise<void> {
    await this.db.updateTable('webhook_deliveries').set({ ...outcome, lease_owner: null, lease_expires_at: null })
      .where('id', '=', id).where('lease_owner', '=', owner).execute();
  }

  async deliveries(webhookId: string, limit: number, cursor?: string): Promise<Page<Delivery>> {
    let query = this.db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).orderBy('seq', 'desc').limit(limit + 1);
    if (cursor) query = query.where('seq', '<', decodeCursor(cursor));
    return keysetPage(await query.execute(), limit, toDelivery);
  }

  /** Sends a delivery again, with the same id, as soon as a sender is free. */
  async redeliver(tx: Kysely<Database>, webhookId: string, deliveryId: string, now: number): Promise<Delivery | undefined> {
    const row = await tx.updateTable('webhook_deliveries').set({ status: 'pending', next_attempt_at: now, delivered_at: null })
      .where('id', '=', deliveryId).where('webhook_id', '=', webhookId).returningAll().executeTakeFirst();
    return row && toDelivery(row);
  }
}

export function toWebhook(row: WebhookRow): Webhook {
  const environments = JSON.parse(row.environments) as '*' | string[];
  return {
    id: row.id, url: row.url, events: JSON.parse(row.events) as string[], environments,
    createdBy: row.created_by, createdAt: isoTime(row.created_at)!, disabledAt: isoTime(row.disabled_at), disabledReason: row.disabled_reason,
  };
}

function toDelivery(row: DeliveryRow): Delivery {
  return {
    id: row.id, webhookId: row.webhook_id, event: row.event, environment: row.environment, status: row.status,
    attempts: Number(row.attempts), lastStatus: row.last_status, lastError: row.last_error,
    nextAttemptAt: row.status === 'pending' ? isoTime(row.next_attempt_at) : null,
    createdAt: isoTime(row.created_at)!, deliveredAt: isoTime(row.delivered_at),
  };
}
