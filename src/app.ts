// Builds the Fastify app from its plugins and routes, in a fixed order: external plugins,
// shared schemas and error handling, then routes. Tests build it too, with real services.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { fastifySSE } from '@fastify/sse';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { registerErrorHandling } from './app/error-handler.js';
import type { EnvironmentService } from './environments/environment-service.js';
import type { OperationService } from './operations/operation-service.js';
import { environmentRoutes } from './routes/environments.js';
import { healthRoutes, type ReadinessChecks } from './routes/health.js';
import { operationRoutes } from './routes/operations.js';
import { Environment, Operation, Problem } from './routes/schemas.js';

export interface AppServices {
  environments: EnvironmentService;
  operations: OperationService;
  checks: ReadinessChecks;
}

export const BODY_LIMIT_BYTES = 64 * 1024;

export async function buildApp(services: AppServices, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    ajv: {
      // Unknown properties are rejected, never silently dropped.
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true },
      plugins: [addFormats.default as never],
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Only JSON bodies: anything else is a 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Stackpilot',
        version: '0.1.0',
        description: 'Deployment control plane: every environment a Pulumi stack; operations are queued, '
          + 'run one at a time per stack, and streamed live.',
      },
      tags: [
        { name: 'environments', description: 'Environments (Pulumi stacks) and their status' },
        { name: 'operations', description: 'Preview, update, refresh and destroy runs' },
        { name: 'health', description: 'Liveness and readiness' },
      ],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(fastifySSE);

  app.addSchema(Problem);
  app.addSchema(Operation);
  app.addSchema(Environment);
  registerErrorHandling(app);

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(healthRoutes, { checks: services.checks });
  await app.register(environmentRoutes, { environments: services.environments });
  await app.register(operationRoutes, { operations: services.operations });
  return app;
}
