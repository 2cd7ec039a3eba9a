// The audit trail, for admins: filtered, newest first, and a check of its hash chain.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AccessService } from '../auth/access-service.js';
import { actorOf } from './request-actor.js';
import { problems, SESSION_ONLY } from './schemas.js';

const AuditRecord = Type.Object({
  seq: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  principal: Type.String(),
  credentialId: Type.Union([Type.String(), Type.Null()]),
  source: Type.String({ description: 'Client address' }),
  action: Type.String({ description: 'The API operation (operationId)' }),
  target: Type.String({ description: 'The path acted on' }),
  result: Type.Enum(['allowed', 'refused', 'failed']),
  reason: Type.Union([Type.String(), Type.Null()], { description: "A refusal's or failure's problem code" }),
  status: Type.Union([Type.Integer(), Type.Null()], { description: 'The HTTP status of a refusal at the door (401, 429), or of a refusal or failure the domain decided; null for allowed actions' }),
  environment: Type.Union([Type.String(), Type.Null()], { description: 'The environment the action concerned, if any' }),
  repeats: Type.Integer({ description: 'How many identical refusals this record stands for (an anonymous flood, folded)' }),
  hash: Type.String({ description: 'HMAC (keyed with a secret outside the database) over this record and the previous hash' }),
}, { additionalProperties: false });

export const auditRoutes: FastifyPluginAsyncTypebox<{ access: AccessService }> = async (app, { access }) => {
  app.get('/v1/audit', {
    schema: {
      operationId: 'listAudit', tags: ['access'], security: SESSION_ONLY,
      summary: 'Audit records, newest first: every record for an admin of everything, the administered environments\' records for others',
      querystring: Type.Object({
        principal: Type.Optional(Type.String({ maxLength: 200 })),
        action: Type.Optional(Type.String({ maxLength: 100 })),
        result: Type.Optional(Type.Enum(['allowed', 'refused', 'failed'])),
        reason: Type.Optional(Type.String({ maxLength: 100 })),
        since: Type.Optional(Type.String({ format: 'date-time' })),
        until: Type.Optional(Type.String({ format: 'date-time' })),
        limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
        cursor: Type.Optional(Type.String({ maxLength: 64 })),
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({ items: Type.Array(AuditRecord), nextCursor: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: false }),
        ...problems(400, 401, 403, 429, 500),
      },
    },
  }, async (request) => {
    const { limit, cursor, ...filter } = request.query;
    return access.listAudit(actorOf(request), filter, limit, cursor);
  });

  app.get('/v1/audit/verify', {
    schema: {
      operationId: 'verifyAudit', tags: ['access'], security: SESSION_ONLY,
      summary: 'Check the chain: an edited, inserted or deleted record breaks it; removed newest records fall short of the last anchor',
      description: 'Proves that no record was changed, inserted or removed without the chain key (kept outside the database), and that '
        + 'none of the records up to the last anchor (written outside the database every minute) was removed. It cannot prove '
        + 'that records written after the last anchor were not removed, nor anything against someone who holds the chain key.',
      response: {
        200: Type.Object({
          valid: Type.Boolean(),
          records: Type.Integer(),
          brokenAt: Type.Union([Type.Integer(), Type.Null()], { description: 'The first record that does not hold' }),
          anchoredThrough: Type.Union([Type.Integer(), Type.Null()], { description: 'The newest record an anchor outside the database vouches for' }),
          truncated: Type.Boolean({ description: 'Records up to the last anchor are missing' }),
        }, { additionalProperties: false }),
        ...problems(401, 403, 429, 500),
      },
    },
  }, async (request) => access.verifyAudit(actorOf(request)));
};
