// GET /v1/environments, GET /v1/environments/{env}
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AccessService } from '../auth/access-service.js';
import { principalOf } from '../app/access-control.js';
import type { EnvironmentService } from '../environments/environment-service.js';
import { ANY_CREDENTIAL, EnvironmentName, problems } from './schemas.js';

export const environmentRoutes: FastifyPluginAsyncTypebox<{ environments: EnvironmentService; access: AccessService }> = async (app, { environments, access }) => {
  app.get('/v1/environments', {
    // Everyone authenticated may ask; each sees only the environments its grants can read.
    config: { access: { permission: 'authenticated' } },
    schema: {
      security: ANY_CREDENTIAL,
      operationId: 'listEnvironments',
      tags: ['environments'],
      summary: 'Every environment with its status, lock holder, resource count and outputs',
      response: { 200: Type.Object({ items: Type.Array(Type.Ref('Environment')) }), ...problems(401, 429, 500) },
    },
  }, async (request) => {
    const principal = principalOf(request);
    return { items: await environments.list((name) => access.canRead(principal, name)) };
  });

  app.get('/v1/environments/:env', {
    config: { access: { permission: 'read', environment: (request) => (request.params as { env: string }).env } },
    schema: {
      security: ANY_CREDENTIAL,
      operationId: 'getEnvironment',
      tags: ['environments'],
      summary: 'One environment with its status, lock holder, resource count and outputs',
      params: Type.Object({ env: EnvironmentName }),
      response: { 200: Type.Ref('Environment'), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request) => environments.get(request.params.env));
};
