// Releases: an environment's configuration versions (read, change with If-Match, diff), its
// releases, promotion along the pipeline, rollback, and approving or rejecting a saved plan.
// Each handler turns the request into an actor and its input, and calls the domain.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PreconditionRequiredError } from '../errors.js';
import type { Approvals } from '../releases/approvals.js';
import type { ConfigVersions } from '../releases/config-versions.js';
import type { Promotions } from '../releases/promotions.js';
import type { Releases } from '../releases/releases.js';
import type { Rollbacks } from '../releases/rollbacks.js';
import { actorOf } from './request-actor.js';
import { accepted } from './accepted.js';
import { ANY_CREDENTIAL, BypassWindow, EnvironmentName, OperationId, PageOf, PageQuery, PrintableText, problems } from './schemas.js';

export interface ReleaseServices {
  versions: ConfigVersions;
  releases: Releases;
  approvals: Approvals;
  promotions: Promotions;
  rollbacks: Rollbacks;
}

const Env = Type.Object({ env: EnvironmentName });
const VersionNumber = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });
const tags = ['releases'];
const etag = (version: number) => `"${version}"`;

export const releaseRoutes: FastifyPluginAsyncTypebox<ReleaseServices> = async (app, { versions, releases, approvals, promotions, rollbacks }) => {
  app.get('/v1/environments/:env/config', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'getConfig', tags,
      summary: "The environment's latest configuration version; its ETag is the version",
      params: Env,
      response: { 200: Type.Ref('ConfigVersion'), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request, reply) => {
    const view = await versions.get(actorOf(request), request.params.env);
    return reply.header('etag', etag(view.version)).send(view);
  });

  app.patch('/v1/environments/:env/config', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'changeConfig', tags,
      summary: 'Make a new configuration version from the latest',
      description: 'If-Match must name the latest version (its ETag): a stale one gets 412 and changes nothing. Keys use the path '
        + 'syntax of `pulumi config set --path`; secrets are encrypted by the stack\'s secrets provider before they are stored.',
      params: Env,
      headers: Type.Object({ 'if-match': Type.Optional(Type.String({ pattern: '^(W/)?"?[0-9]{1,10}"?$', description: 'The version changed: 7 or "7"' })) }),
      body: Type.Ref('ConfigChange'),
      response: { 201: Type.Ref('ConfigVersion'), ...problems(400, 401, 403, 404, 412, 413, 415, 428, 429, 500) },
    },
  }, async (request, reply) => {
    const ifMatch = request.headers['if-match'];
    if (ifMatch === undefined) throw new PreconditionRequiredError('if_match_required', 'send If-Match with the version you changed (the ETag of GET .../config)');
    const view = await versions.change(actorOf(request), request.params.env, Number(ifMatch.replace(/\D/g, '')), request.body as never);
    return reply.code(201).header('etag', etag(view.version)).header('location', `/v1/environments/${view.environment}/config/versions/${view.version}`).send(view);
  });

  app.get('/v1/environments/:env/config/versions', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'listConfigVersions', tags, summary: "The environment's configuration versions, newest first",
      params: Env, querystring: PageQuery,
      response: { 200: PageOf('ConfigVersion'), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request) => versions.list(actorOf(request), request.params.env, request.query.limit, request.query.cursor));

  app.get('/v1/environments/:env/config/versions/:version', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'getConfigVersion', tags, summary: 'One configuration version',
      params: Type.Object({ env: EnvironmentName, version: VersionNumber }),
      response: { 200: Type.Ref('ConfigVersion'), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request, reply) => {
    const view = await versions.get(actorOf(request), request.params.env, request.params.version);
    return reply.header('etag', etag(view.version)).send(view);
  });

  app.get('/v1/environments/:env/config/diff', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'diffConfig', tags,
      summary: 'Keys added, changed and removed between two versions (a secret by its key only)',
      params: Env,
      querystring: Type.Object({ from: VersionNumber, to: VersionNumber }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          from: Type.Integer(), to: Type.Integer(),
          added: Type.Array(Type.String()), changed: Type.Array(Type.String()), removed: Type.Array(Type.String()),
        }, { additionalProperties: false }),
        ...problems(400, 401, 403, 404, 429, 500),
      },
    },
  }, async (request) => versions.diff(actorOf(request), request.params.env, request.query.from, request.query.to));

  app.get('/v1/environments/:env/releases', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'listReleases', tags, summary: "The environment's releases, newest first",
      params: Env, querystring: PageQuery,
      response: { 200: PageOf('Release'), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request) => releases.list(actorOf(request), request.params.env, request.query.limit, request.query.cursor));

  app.get('/v1/environments/:env/releases/:id', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'getRelease', tags, summary: 'One release',
      params: Type.Object({ env: EnvironmentName, id: Type.String({ format: 'uuid' }) }),
      response: { 200: Type.Ref('Release'), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request) => releases.get(actorOf(request), request.params.env, request.params.id));

  app.post('/v1/environments/:env/promotions', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'promote', tags,
      summary: "Promote the previous pipeline environment's current release into this one",
      description: 'Copies the promotable keys (the images, by default) of `from`\'s current release into a new configuration version, '
        + 'and queues an update of that release\'s program; approval rules apply.',
      params: Env,
      body: Type.Object({
        from: Type.Optional(EnvironmentName),
        message: Type.Optional(PrintableText(500)),
      }, { additionalProperties: false }),
      response: { 202: Type.Ref('Operation'), ...problems(400, 401, 403, 404, 409, 413, 415, 429, 500) },
    },
  }, async (request, reply) => accepted(reply, await promotions.promote(actorOf(request), request.params.env, request.body)));

  app.post('/v1/environments/:env/rollbacks', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'rollback', tags,
      summary: 'Deploy an earlier release again: its program snapshot and its configuration',
      description: 'Approval rules apply; with `emergency: true`, where the policy allows it, an admin with a second-factor session rolls back at once. '
        + 'Outside the maintenance window it is scheduled, unless `bypassWindow` (an admin with a second-factor session, with a reason) runs it now.',
      params: Env,
      body: Type.Object({
        release: Type.Union([Type.Literal('previous'), Type.String({ format: 'uuid' })], { description: 'A release id, or "previous"' }),
        message: Type.Optional(PrintableText(500)),
        emergency: Type.Optional(Type.Boolean()),
        bypassWindow: Type.Optional(BypassWindow),
      }, { additionalProperties: false }),
      response: { 202: Type.Ref('Operation'), ...problems(400, 401, 403, 404, 409, 413, 415, 429, 500) },
    },
  }, async (request, reply) => accepted(reply, await rollbacks.rollback(actorOf(request), request.params.env, request.body)));

  app.get('/v1/pipeline', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'getPipeline', tags,
      summary: 'Each pipeline environment\'s current release, and what a promotion into it would change',
      response: {
        200: Type.Object({
          stages: Type.Array(Type.Object({
            environment: EnvironmentName,
            currentRelease: Type.Union([Type.Ref('Release'), Type.Null()]),
            promotion: Type.Union([Type.Object({
              from: EnvironmentName, release: Type.String(),
              changes: Type.Record(Type.String(), Type.Array(Type.Unknown(), { minItems: 2, maxItems: 2 }), { description: 'By key: [now, after the promotion]' }),
            }, { additionalProperties: false }), Type.Null()]),
          }, { additionalProperties: false })),
        }, { additionalProperties: false }),
        ...problems(401, 429, 500),
      },
    },
  }, async (request) => ({ stages: await promotions.pipeline(actorOf(request)) }));

  for (const decision of ['approve', 'reject'] as const) {
    app.post(`/v1/operations/:id/${decision}`, {
      schema: {
        security: ANY_CREDENTIAL, operationId: `${decision}Operation`, tags,
        summary: decision === 'approve' ? 'Approve a saved plan: once enough people have, it is applied exactly' : 'Reject a saved plan: the operation ends rejected',
        description: 'Needs the approve permission on the environment; the requester cannot decide on their own change; on production (by default) a second-factor session.',
        params: Type.Object({ id: OperationId }),
        body: Type.Optional(Type.Object({ comment: Type.Optional(PrintableText(500)) }, { additionalProperties: false })),
        response: { 200: Type.Ref('Operation'), ...problems(400, 401, 403, 404, 409, 413, 415, 429, 500) },
      },
    }, async (request) => approvals.decide(actorOf(request), request.params.id, decision, request.body?.comment));
  }
};
