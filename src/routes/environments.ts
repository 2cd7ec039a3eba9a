// GET /v1/environments, GET /v1/environments/{env}
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { EnvironmentStatusView } from '../environments/environment-status.js';
import { actorOf } from './request-actor.js';
import { ANY_CREDENTIAL, EnvironmentName, problems } from './schemas.js';

export const environmentRoutes: FastifyPluginAsyncTypebox<{ environments: EnvironmentStatusView }> = async (app, { environments }) => {
  app.get('/v1/environments', {
    schema: {
      security: ANY_CREDENTIAL,
      operationId: 'listEnvironments',
      tags: ['environments'],
      summary: 'Every environment the caller may read, with its status, locks, resource count and outputs',
      response: { 200: Type.Object({ items: Type.Array(Type.Ref('Environment')) }), ...problems(401, 429, 500) },
    },
  }, async (request) => ({ items: await environments.list(actorOf(request)) }));

  app.get('/v1/environments/:env', {
    schema: {
      security: ANY_CREDENTIAL,
      operationId: 'getEnvironment',
      tags: ['environments'],
      summary: 'One environment with its status, locks, resource count and outputs',
      params: Type.Object({ env: EnvironmentName }),
      response: { 200: Type.Ref('Environment'), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request) => environments.get(actorOf(request), request.params.env));
};
