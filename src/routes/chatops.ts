// Slack ChatOps: the slash command and interactivity endpoints Slack calls (verified by Slack's
// request signature over the raw body, not by a bearer credential), and the admin routes that
// map Slack users to principals.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { SlackChatOps } from '../chatops/slack-chatops.js';
import type { SlackUsers } from '../chatops/slack-users.js';
import { UnavailableError } from '../errors.js';
import { actorOf } from './request-actor.js';
import { Grant, SESSION_ONLY, problems } from './schemas.js';

const SlackMessage = Type.Object({
  response_type: Type.Enum(['ephemeral', 'in_channel'] as const),
  text: Type.String(),
  replace_original: Type.Optional(Type.Boolean()),
}, { additionalProperties: false, description: 'A Slack message: the acknowledgement Slack shows the user' });

const SlackUserId = Type.String({ pattern: '^[UW][A-Z0-9]{2,20}$', description: 'Slack user id (U…)' });
const SlackUser = Type.Object({
  slackUserId: SlackUserId,
  principal: Type.String(),
  grants: Type.Array(Type.Ref('Grant')),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
}, { additionalProperties: false });

const SIGNED = {
  headers: Type.Object({
    'x-slack-signature': Type.Optional(Type.String({ maxLength: 200 })),
    'x-slack-request-timestamp': Type.Optional(Type.String({ maxLength: 20 })),
  }),
  body: Type.String({ description: "Slack's application/x-www-form-urlencoded body, verified as it was sent" }),
  consumes: ['application/x-www-form-urlencoded'],
  security: [],
};

export const chatopsRoutes: FastifyPluginAsyncTypebox<{ chatops?: SlackChatOps; users: SlackUsers }> = async (app, { chatops, users }) => {
  // Slack signs the body as sent: keep it as text, and parse it only once verified.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  const signed = (request: FastifyRequest) => {
    if (!chatops) throw new UnavailableError('slack_not_configured', 'Slack ChatOps is off: set STACKPILOT_SLACK_SIGNING_SECRET');
    const header = (name: string) => (typeof request.headers[name] === 'string' ? request.headers[name] : undefined);
    return { chatops, request: { rawBody: String(request.body), timestamp: header('x-slack-request-timestamp'), signature: header('x-slack-signature') } };
  };

  const endpoints = [
    { path: '/v1/chatops/slack/commands', operationId: 'slackCommand', handle: 'command', summary: 'The /stackpilot slash command: status, preview, deploy, promote, rollback, approve' },
    { path: '/v1/chatops/slack/interactions', operationId: 'slackInteraction', handle: 'interaction', summary: 'Approve and Reject buttons on approval requests (block_actions)' },
  ] as const;
  for (const endpoint of endpoints) {
    app.post(endpoint.path, {
      config: { public: true },
      schema: {
        ...SIGNED, operationId: endpoint.operationId, tags: ['integrations'], summary: endpoint.summary,
        response: { 200: SlackMessage, ...problems(400, 401, 403, 413, 415, 500, 503) },
      },
    }, async (request) => {
      const { chatops: ops, request: signedRequest } = signed(request);
      return ops[endpoint.handle](signedRequest, request.ip);
    });
  }

  app.put('/v1/chatops/slack/users/:slackUserId', {
    schema: {
      operationId: 'mapSlackUser', tags: ['integrations'], security: SESSION_ONLY,
      summary: 'Map a Slack user to a principal and grants (no more than the caller holds)',
      params: Type.Object({ slackUserId: SlackUserId }),
      body: Type.Object({
        principal: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._@:-]+$' }),
        grants: Type.Array(Grant, { minItems: 1, maxItems: 32 }),
      }, { additionalProperties: false }),
      response: { 200: SlackUser, ...problems(400, 401, 403, 413, 415, 429, 500) },
    },
  }, async (request) => users.put(actorOf(request), { slackUserId: request.params.slackUserId, ...request.body }));

  app.get('/v1/chatops/slack/users', {
    schema: {
      operationId: 'listSlackUsers', tags: ['integrations'], security: SESSION_ONLY, summary: 'Mapped Slack users',
      response: { 200: Type.Object({ items: Type.Array(SlackUser) }, { additionalProperties: false }), ...problems(401, 403, 429, 500) },
    },
  }, async (request) => ({ items: await users.list(actorOf(request)) }));

  app.delete('/v1/chatops/slack/users/:slackUserId', {
    schema: {
      operationId: 'unmapSlackUser', tags: ['integrations'], security: SESSION_ONLY, summary: 'Remove a Slack user mapping',
      params: Type.Object({ slackUserId: SlackUserId }),
      response: { 204: Type.Null(), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request, reply) => {
    await users.remove(actorOf(request), request.params.slackUserId);
    return reply.code(204).send(null);
  });
};
