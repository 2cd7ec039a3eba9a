// The dashboard: its page and assets (built by web/build.mjs at install), and its sign-in,
// which exchanges an API key (plus a TOTP code for admin actions) for a session held in an
// HttpOnly cookie (http/dashboard-session.ts). The page then calls the same API, with the
// same permissions, through the generated client.
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Type } from 'typebox';
import type { AccessService } from '../auth/access-service.js';
import { UnavailableError } from '../errors.js';
import { csrfTokenFor } from '../http/dashboard-session.js';
import { actorOf } from './request-actor.js';
import { ANY_CREDENTIAL, KEY_ONLY, problems } from './schemas.js';

export const DASHBOARD_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));
const ASSET = /^[A-Za-z0-9_-]{1,64}\.(js|css|svg)$/;

const SignedIn = Type.Object({
  principal: Type.String(),
  grants: Type.Array(Type.Ref('Grant')),
  secondFactor: Type.Boolean({ description: 'Signed in with a TOTP code: admin actions are allowed' }),
  csrfToken: Type.Union([Type.String(), Type.Null()], { description: 'Send as X-CSRF-Token with every change made with the session cookie; null without the cookie' }),
}, { additionalProperties: false });

export const dashboardRoutes: FastifyPluginAsyncTypebox<{ access: AccessService; dist?: string }> = async (app, { access, dist = DASHBOARD_DIST }) => {
  await app.register(fastifyStatic, { root: dist, serve: false, preCompressed: true });
  const built = () => {
    if (!existsSync(`${dist}/index.html`)) throw new UnavailableError('dashboard_not_built', 'the dashboard is not built: run `npm ci` (or `node web/build.mjs`)');
  };

  app.get('/', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
    built();
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  });
  // Asset names carry their content hash, so a browser may keep them for good.
  app.get('/assets/:file', { config: { public: true }, schema: { hide: true, params: Type.Object({ file: Type.String({ pattern: ASSET.source }) }) } }, async (request, reply) => {
    built();
    return reply.header('cache-control', 'public, max-age=31536000, immutable').sendFile(`assets/${request.params.file}`);
  });

  app.post('/v1/dashboard/session', {
    schema: {
      operationId: 'signInToDashboard', tags: ['access'], security: KEY_ONLY,
      summary: "Sign in to the dashboard: an API key (and a TOTP code for admin actions) for a session cookie",
      description: 'Sets an HttpOnly, SameSite=Strict cookie (Secure under TLS) holding a session, never the key. '
        + 'Without `code` any key opens a session with its own grants and no second factor; with it, the key must be an admin '
        + "or approver's and the session counts as a second factor, like POST /v1/sessions. Sessions end at STACKPILOT_SESSION_LIFETIME_SECONDS "
        + 'or after STACKPILOT_SESSION_IDLE_SECONDS unused.',
      body: Type.Object({ code: Type.Optional(Type.String({ pattern: '^[0-9]{6}$', description: 'The current 6-digit TOTP code' })) }, { additionalProperties: false }),
      response: {
        201: Type.Object({
          ...SignedIn.properties,
          expiresAt: Type.String({ format: 'date-time' }),
          idleTimeoutSeconds: Type.Integer(),
        }, { additionalProperties: false }),
        ...problems(400, 401, 403, 415, 429, 500),
      },
    },
  }, async (request, reply) => {
    const actor = actorOf(request);
    const { token, session, idleTimeoutSeconds } = await access.openDashboardSession(actor, request.body.code);
    app.dashboardCookie.set(reply, token, Math.max(1, Math.floor((Date.parse(session.expiresAt) - Date.now()) / 1000)));
    return reply.code(201).send({
      principal: actor.principal, grants: [...actor.grants], secondFactor: session.secondFactor, csrfToken: csrfTokenFor(token),
      expiresAt: session.expiresAt, idleTimeoutSeconds,
    });
  });

  app.get('/v1/dashboard/session', {
    schema: {
      operationId: 'getDashboardSession', tags: ['access'], security: ANY_CREDENTIAL,
      summary: 'Who is signed in, with what grants, and the CSRF token for changes made with the session cookie',
      response: { 200: SignedIn, ...problems(401, 429, 500) },
    },
  }, async (request) => {
    const actor = actorOf(request);
    return { principal: actor.principal, grants: [...actor.grants], secondFactor: actor.secondFactor, csrfToken: request.sessionCookie ? csrfTokenFor(request.sessionCookie) : null };
  });

  app.delete('/v1/dashboard/session', {
    schema: {
      operationId: 'signOutOfDashboard', tags: ['access'], security: ANY_CREDENTIAL,
      summary: "End the dashboard's session and clear its cookie",
      response: { 204: Type.Null(), ...problems(401, 403, 429, 500) },
    },
  }, async (request, reply) => {
    await access.closeSession(actorOf(request));
    app.dashboardCookie.clear(reply);
    return reply.code(204).send(null);
  });
};
