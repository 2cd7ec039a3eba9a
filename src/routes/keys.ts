// API keys: create (shown once), list, rotate (with a grace period), revoke.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAX_GRACE_HOURS, MAX_KEY_DAYS } from '../auth/api-keys.js';
import type { AccessService } from '../auth/access-service.js';
import { actorOf } from './request-actor.js';
import { ANY_CREDENTIAL, Grant, SESSION_ONLY, problems } from './schemas.js';

const KeyWithToken = Type.Object({
  key: Type.Ref('ApiKey'),
  token: Type.String({ description: 'The key itself: shown this once, stored only as a hash' }),
}, { additionalProperties: false });

export const keyRoutes: FastifyPluginAsyncTypebox<{ access: AccessService }> = async (app, { access }) => {
  app.post('/v1/keys', {
    schema: {
      operationId: 'createKey', tags: ['access'], summary: 'Create an API key (its value is shown once)', security: SESSION_ONLY,
      body: Type.Object({
        name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
        principal: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._@:-]+$', description: 'Who acts with it, as the audit trail names them' }),
        grants: Type.Array(Grant, { minItems: 1, maxItems: 32 }),
        expiresInDays: Type.Integer({ minimum: 1, maximum: MAX_KEY_DAYS, default: 90 }),
      }, { additionalProperties: false }),
      response: { 201: KeyWithToken, ...problems(400, 401, 403, 413, 415, 429, 500) },
    },
  }, async (request, reply) => reply.code(201).send(await access.createKey(actorOf(request), request.body)));

  app.get('/v1/keys', {
    schema: {
      operationId: 'listKeys', tags: ['access'], summary: 'Every API key, without its value', security: SESSION_ONLY,
      response: { 200: Type.Object({ items: Type.Array(Type.Ref('ApiKey')) }), ...problems(401, 403, 429, 500) },
    },
  }, async (request) => ({ items: await access.listKeys(actorOf(request)) }));

  app.post('/v1/keys/:id/rotate', {
    // A key may rotate itself, so a CI pipeline can swap its own secret; others need an admin.
    schema: {
      operationId: 'rotateKey', tags: ['access'], security: ANY_CREDENTIAL,
      summary: 'Issue a new key with the same grants; the old one keeps working for the grace period',
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      body: Type.Object({ graceHours: Type.Integer({ minimum: 0, maximum: MAX_GRACE_HOURS, default: 24 }) }, { additionalProperties: false }),
      response: { 201: KeyWithToken, ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request, reply) => reply.code(201).send(await access.rotateKey(actorOf(request), request.params.id, request.body.graceHours)));

  app.delete('/v1/keys/:id', {
    schema: {
      operationId: 'revokeKey', tags: ['access'], summary: 'Revoke a key: it stops working on the next request', security: SESSION_ONLY,
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      response: { 200: Type.Ref('ApiKey'), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request) => access.revokeKey(actorOf(request), request.params.id));
};
