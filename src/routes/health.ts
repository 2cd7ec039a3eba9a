// GET /healthz (the process answers) and GET /readyz (it can do its work).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Readiness } from '../http/readiness.js';

const Checks = Type.Object({ database: Type.Boolean(), toolchain: Type.Boolean(), stateBackend: Type.Boolean() });

export const healthRoutes: FastifyPluginAsyncTypebox<{ readiness: Readiness }> = async (app, { readiness }) => {
  app.get('/healthz', {
    config: { public: true },
    schema: {
      security: [],
      operationId: 'getHealth', tags: ['health'], summary: 'The process is alive',
      response: { 200: Type.Object({ status: Type.Literal('ok') }) },
    },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    config: { public: true },
    schema: {
      security: [],
      operationId: 'getReadiness', tags: ['health'], summary: 'Database, toolchain and state backend are reachable (checked every few seconds)',
      response: {
        200: Type.Object({ status: Type.Literal('ready'), checks: Checks }),
        503: Type.Object({ status: Type.Literal('unavailable'), checks: Checks }),
      },
    },
  }, async (_request, reply) => {
    const result = await readiness.current();
    if (result.database && result.toolchain && result.stateBackend) return { status: 'ready' as const, checks: result };
    return reply.code(503).send({ status: 'unavailable' as const, checks: result });
  });
};
