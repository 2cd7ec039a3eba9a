// GET /healthz (the process answers) and GET /readyz (it can do its work).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

export interface ReadinessChecks {
  database(): Promise<boolean>;
  toolchain(): Promise<boolean>;
  stateBackend(): Promise<boolean>;
}

const Checks = Type.Object({ database: Type.Boolean(), toolchain: Type.Boolean(), stateBackend: Type.Boolean() });

export const healthRoutes: FastifyPluginAsyncTypebox<{ checks: ReadinessChecks }> = async (app, { checks }) => {
  app.get('/healthz', {
    config: { access: { public: true } },
    schema: {
      security: [],
      operationId: 'getHealth', tags: ['health'], summary: 'The process is alive',
      response: { 200: Type.Object({ status: Type.Literal('ok') }) },
    },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    config: { access: { public: true } },
    schema: {
      security: [],
      operationId: 'getReadiness', tags: ['health'], summary: 'Database, toolchain and state backend are reachable',
      response: {
        200: Type.Object({ status: Type.Literal('ready'), checks: Checks }),
        503: Type.Object({ status: Type.Literal('unavailable'), checks: Checks }),
      },
    },
  }, async (_request, reply) => {
    const settle = (check: () => Promise<boolean>) => check().catch(() => false);
    const [database, toolchain, stateBackend] = await Promise.all([
      settle(checks.database), settle(checks.toolchain), settle(checks.stateBackend),
    ]);
    const result = { database, toolchain, stateBackend };
    if (database && toolchain && stateBackend) return { status: 'ready' as const, checks: result };
    return reply.code(503).send({ status: 'unavailable' as const, checks: result });
  });
};
