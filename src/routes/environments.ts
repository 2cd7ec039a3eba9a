// GET /v1/environments, GET /v1/environments/{env}
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { EnvironmentService } from '../environments/environment-service.js';
import { EnvironmentName, problems } from './schemas.js';

export const environmentRoutes: FastifyPluginAsyncTypebox<{ environments: EnvironmentService }> = async (app, { environments }) => {
  app.get('/v1/environments', {
    schema: {
      operationId: 'listEnvironments',
      tags: ['environments'],
      summary: 'Every environment with its status, lock holder, resource count and outputs',
      response: { 200: Type.Object({ items: Type.Array(Type.Ref('Environment')) }), ...problems(400, 500) },
    },
  }, async () => ({ items: await environments.list() }));

  app.get('/v1/environments/:env', {
    schema: {
      operationId: 'getEnvironment',
      tags: ['environments'],
      summary: 'One environment with its status, lock holder, resource count and outputs',
      params: Type.Object({ env: EnvironmentName }),
      response: { 200: Type.Ref('Environment'), ...problems(400, 404, 500) },
    },
  }, async (request) => environments.get(request.params.env));
};
