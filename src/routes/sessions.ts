// The second factor: enrol a TOTP for an admin key's principal, confirm it, and exchange key
// plus code for a short-lived session.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AccessService } from '../auth/access-service.js';
import { actorOf } from './request-actor.js';
import { KEY_ONLY, problems, SESSION_ONLY } from './schemas.js';

const Code = Type.Object({ code: Type.String({ pattern: '^[0-9]{6}$', description: 'The current 6-digit TOTP code' }) }, { additionalProperties: false });

export const sessionRoutes: FastifyPluginAsyncTypebox<{ access: AccessService }> = async (app, { access }) => {
  app.post('/v1/mfa/totp', {
    schema: {
      operationId: 'enrolTotp', tags: ['access'], security: KEY_ONLY,
      summary: "Start enrolling a TOTP second factor for this admin key's principal (the seed is shown once)",
      response: {
        201: Type.Object({ secret: Type.String({ description: 'Base32 seed' }), otpauthUri: Type.String() }, { additionalProperties: false }),
        ...problems(401, 403, 409, 429, 500),
      },
    },
  }, async (request, reply) => reply.code(201).send(await access.enrolTotp(actorOf(request))));

  app.post('/v1/mfa/totp/confirm', {
    schema: {
      operationId: 'confirmTotp', tags: ['access'], security: KEY_ONLY, summary: 'Confirm the enrolment with a first code',
      body: Code,
      response: { 204: Type.Null(), ...problems(400, 401, 403, 429, 500) },
    },
  }, async (request, reply) => {
    await access.confirmTotp(actorOf(request), request.body.code);
    return reply.code(204).send(null);
  });

  app.post('/v1/sessions', {
    schema: {
      operationId: 'createSession', tags: ['access'], security: KEY_ONLY,
      summary: 'Exchange an admin API key and a TOTP code for a session token (needed for admin actions)',
      body: Code,
      response: {
        201: Type.Object({
          token: Type.String({ description: 'sps_...: send as Authorization: Bearer' }),
          expiresAt: Type.String({ format: 'date-time', description: 'Absolute end of the session' }),
          idleTimeoutSeconds: Type.Integer({ description: 'The session ends after this long unused' }),
        }, { additionalProperties: false }),
        ...problems(400, 401, 403, 429, 500),
      },
    },
  }, async (request, reply) => {
    const { token, session, idleTimeoutSeconds } = await access.openSession(actorOf(request), request.body.code);
    return reply.code(201).send({ token, expiresAt: session.expiresAt, idleTimeoutSeconds });
  });

  app.delete('/v1/sessions/current', {
    schema: {
      operationId: 'closeSession', tags: ['access'], security: SESSION_ONLY, summary: 'End the session this token belongs to',
      response: { 204: Type.Null(), ...problems(401, 403, 429, 500) },
    },
  }, async (request, reply) => {
    await access.closeSession(actorOf(request));
    return reply.code(204).send(null);
  });
};
