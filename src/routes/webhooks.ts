// Webhooks: register an endpoint (its signing secret is shown once), list, delete, read its
// deliveries and send one again. Admin sessions only.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { EVENT_NAMES } from '../notifications/event-catalog.js';
import type { WebhookService } from '../notifications/webhooks/webhook-service.js';
import { actorOf } from './request-actor.js';
import { EnvironmentName, SESSION_ONLY, problems } from './schemas.js';

const WebhookId = Type.String({ format: 'uuid', description: 'Webhook id' });
const DeliveryId = Type.String({ pattern: '^msg_[0-9a-f]{32}$', description: 'Delivery id: the webhook-id header of each of its attempts' });
// Event names are checked by the domain (so an unknown one is audited), not by an enum here.
const EventName = Type.String({ minLength: 1, maxLength: 64, description: `One of: ${EVENT_NAMES.join(', ')}` });
const Environments = Type.Union([Type.Literal('*'), Type.Array(EnvironmentName, { minItems: 1, maxItems: 64 })], {
  description: '"*" for every environment (needs admin of every environment), or a list',
});

const Webhook = Type.Object({
  id: WebhookId,
  url: Type.String(),
  events: Type.Array(Type.String()),
  environments: Environments,
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  disabledAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Set when the endpoint answered 410 Gone' }),
  disabledReason: Type.Union([Type.String(), Type.Null()]),
}, { $id: 'Webhook', additionalProperties: false });

const Delivery = Type.Object({
  id: DeliveryId,
  webhookId: WebhookId,
  event: Type.String(),
  environment: Type.Union([Type.String(), Type.Null()]),
  status: Type.Enum(['pending', 'delivered', 'failed'] as const, { description: 'pending: to be tried (again) at nextAttemptAt; delivered: a 2xx answer; failed: gave up, 410, or deleted endpoint' }),
  attempts: Type.Integer(),
  lastStatus: Type.Union([Type.Integer(), Type.Null()], { description: "The receiver's last HTTP status" }),
  lastError: Type.Union([Type.String(), Type.Null()]),
  nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  deliveredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
}, { $id: 'WebhookDelivery', additionalProperties: false });

export const webhookSchemas = [Webhook, Delivery];

export const webhookRoutes: FastifyPluginAsyncTypebox<{ webhooks: WebhookService }> = async (app, { webhooks }) => {
  app.post('/v1/webhooks', {
    schema: {
      operationId: 'createWebhook', tags: ['integrations'], security: SESSION_ONLY,
      summary: 'Register a webhook endpoint; its signing secret (whsec_...) is shown this once',
      description: 'Deliveries follow Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature). The target must resolve '
        + 'to public addresses (checked now and at every delivery) unless STACKPILOT_WEBHOOK_ALLOW allowlists its range.',
      body: Type.Object({
        url: Type.String({ minLength: 1, maxLength: 2000, description: 'http(s) URL of the receiver' }),
        events: Type.Array(EventName, { minItems: 1, maxItems: 32 }),
        environments: Environments,
      }, { additionalProperties: false }),
      response: {
        201: Type.Object({ webhook: Type.Ref('Webhook'), secret: Type.String({ description: 'whsec_...: verify signatures with it; shown once' }) }, { additionalProperties: false }),
        ...problems(400, 401, 403, 404, 413, 415, 429, 500),
      },
    },
  }, async (request, reply) => reply.code(201).send(await webhooks.create(actorOf(request), request.body)));

  app.get('/v1/webhooks', {
    schema: {
      operationId: 'listWebhooks', tags: ['integrations'], security: SESSION_ONLY, summary: 'The webhook endpoints the caller administers',
      response: { 200: Type.Object({ items: Type.Array(Type.Ref('Webhook')) }, { additionalProperties: false }), ...problems(401, 403, 429, 500) },
    },
  }, async (request) => ({ items: await webhooks.list(actorOf(request)) }));

  app.delete('/v1/webhooks/:id', {
    schema: {
      operationId: 'deleteWebhook', tags: ['integrations'], security: SESSION_ONLY, summary: 'Delete an endpoint; its pending deliveries are dropped',
      params: Type.Object({ id: WebhookId }),
      response: { 204: Type.Null({ description: 'Deleted' }), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request, reply) => {
    await webhooks.delete(actorOf(request), request.params.id);
    return reply.code(204).send(null);
  });

  app.get('/v1/webhooks/:id/deliveries', {
    schema: {
      operationId: 'listWebhookDeliveries', tags: ['integrations'], security: SESSION_ONLY, summary: "An endpoint's deliveries, newest first",
      params: Type.Object({ id: WebhookId }),
      querystring: Type.Object({
        limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
        cursor: Type.Optional(Type.String({ maxLength: 64 })),
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({ items: Type.Array(Type.Ref('WebhookDelivery')), nextCursor: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: false }),
        ...problems(400, 401, 403, 404, 429, 500),
      },
    },
  }, async (request) => webhooks.deliveries(actorOf(request), request.params.id, request.query.limit, request.query.cursor));

  app.post('/v1/webhooks/:id/deliveries/:deliveryId/redeliver', {
    schema: {
      operationId: 'redeliverWebhook', tags: ['integrations'], security: SESSION_ONLY,
      summary: 'Send a delivery again, with the same webhook-id, as soon as possible',
      params: Type.Object({ id: WebhookId, deliveryId: DeliveryId }),
      response: { 202: Type.Ref('WebhookDelivery'), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request, reply) => reply.code(202).send(await webhooks.redeliver(actorOf(request), request.params.id, request.params.deliveryId)));
};
