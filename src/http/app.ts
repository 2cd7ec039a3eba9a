// Builds the Fastify app from its plugins and routes, in a fixed order: external plugins,
// shared schemas, error handling and the door (access), then routes. Tests build it too, with
// real services. With a certificate it serves HTTPS only, and says so with HSTS.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { fastifySSE } from '@fastify/sse';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { AccessService } from '../auth/access-service.js';
import type { AuditTrail } from '../auth/audit-trail.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { EnvironmentStatusView } from '../environments/environment-status.js';
import type { OperationService } from '../operations/operation-service.js';
import { auditRoutes } from '../routes/audit.js';
import { environmentRoutes } from '../routes/environments.js';
import { healthRoutes } from '../routes/health.js';
import { keyRoutes } from '../routes/keys.js';
import { operationRoutes } from '../routes/operations.js';
import { ANY_CREDENTIAL, ApiKey, ConfigChange, ConfigVersion, Drift, Environment, Grant, Operation, PlanView, Problem, Release } from '../routes/schemas.js';
import { releaseRoutes, type ReleaseServices } from '../routes/releases.js';
import { maintenanceRoutes } from '../routes/maintenance.js';
import type { MaintenanceCalendar } from '../calendar/maintenance-calendar.js';
import { recoveryRoutes, StateBackup, type RecoveryServices } from '../routes/recovery.js';
import { sessionRoutes } from '../routes/sessions.js';
import { dashboardRoutes } from '../routes/dashboard.js';
import { chatopsRoutes } from '../routes/chatops.js';
import { webhookRoutes, webhookSchemas } from '../routes/webhooks.js';
import { verificationRoutes, verificationSchemas, type VerificationServices } from '../routes/verification.js';
import type { Integrations } from '../integrations.js';
import { registerHttpMetrics, registerMetricsRoute } from '../metrics/metrics-endpoint.js';
import { registerAccess, type RateLimitPolicy } from './access.js';
import { registerDashboardSession } from './dashboard-session.js';
import { registerErrorHandling } from './error-handler.js';
import { DOCS_CONTENT_SECURITY_POLICY, registerSecurityHeaders } from './security-headers.js';
import type { Readiness } from './readiness.js';

export interface AppServices {
  environments: EnvironmentStatusView;
  operations: OperationService;
  access: AccessService;
  authenticator: Authenticator;
  audit: AuditTrail;
  readiness: Readiness;
  rateLimit: RateLimitPolicy;
  releases: ReleaseServices;
  /** Webhooks, Slack and metrics (issue 12); absent when only the spec is generated. */
  integrations?: Integrations;
  recovery: RecoveryServices;
  calendar: MaintenanceCalendar;
  verification: VerificationServices;
}

export interface AppOptions {
  /** PEM files: with them the app serves HTTPS only. */
  tls?: { cert: string; key: string };
  timeouts: { requestMs: number; headersMs: number };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export const BODY_LIMIT_BYTES = 64 * 1024;
const HSTS = 'max-age=31536000; includeSubDomains';

export async function buildApp(services: AppServices, logger: Logger, options: AppOptions = { timeouts: { requestMs: 30_000, headersMs: 10_000 } }): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    // A caller's X-Request-Id is kept only when it is a short, safe id; otherwise one is made.
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // A client sending its request slowly cannot hold a socket: the whole request must arrive in time.
    requestTimeout: options.timeouts.requestMs,
    ...(options.tls ? { https: { cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) } } : {}),
    ajv: {
      // Unknown properties are rejected, never silently dropped.
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true },
      plugins: [addFormats.default as never],
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.server.headersTimeout = options.timeouts.headersMs;
  // Only JSON bodies: anything else is a 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');
  if (options.tls) app.addHook('onSend', async (_request, reply, payload) => (reply.header('strict-transport-security', HSTS), payload));

  // Before every route, Swagger UI's included, so each answer carries them.
  await registerSecurityHeaders(app);
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
        { name: 'releases', description: 'Configuration versions, releases, approvals, promotion and rollback' },
        { name: 'recovery', description: 'State backups and restores' },
        { name: 'maintenance', description: 'Maintenance windows, freezes and scheduled changes' },
        { name: 'access', description: 'API keys, second factors, sessions and the audit trail' },
        { name: 'integrations', description: 'Webhooks and Slack ChatOps' },
        { name: 'health', description: 'Liveness and readiness' },
      ],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'sp_<id>_<secret>', description: 'An API key: Authorization: Bearer sp_...' },
          session: { type: 'http', scheme: 'bearer', bearerFormat: 'sps_<token>', description: 'A session from POST /v1/sessions (API key + TOTP code); needed for admin actions and destroy' },
          oidcToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: "A CI provider's OIDC token, from an issuer in STACKPILOT_OIDC_ISSUERS" },
        },
      },
      security: ANY_CREDENTIAL,
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CONTENT_SECURITY_POLICY });
  await app.register(fastifySSE);

  app.addSchema(Problem);
  app.addSchema(PlanView);
  app.addSchema(ConfigChange);
  app.addSchema(Release);
  app.addSchema(ConfigVersion);
  app.addSchema(Operation);
  app.addSchema(Drift);
  app.addSchema(Environment);
  app.addSchema(Grant);
  app.addSchema(ApiKey);
  for (const schema of webhookSchemas) app.addSchema(schema);
  app.addSchema(StateBackup);
  for (const schema of verificationSchemas) app.addSchema(schema);
  registerErrorHandling(app);
  const integrations = services.integrations;
  if (integrations) registerHttpMetrics(app, integrations.metrics);
  if (integrations?.metricsToken) registerMetricsRoute(app, integrations.metrics, integrations.metricsToken);
  await registerDashboardSession(app, { secure: Boolean(options.tls) });
  await registerAccess(app, services);

  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  await app.register(healthRoutes, { readiness: services.readiness });
  await app.register(environmentRoutes, { environments: services.environments });
  await app.register(operationRoutes, { operations: services.operations });
  await app.register(releaseRoutes, services.releases);
  await app.register(recoveryRoutes, services.recovery);
  await app.register(maintenanceRoutes, { calendar: services.calendar });
  await app.register(verificationRoutes, services.verification);
  await app.register(keyRoutes, { access: services.access });
  await app.register(sessionRoutes, { access: services.access });
  await app.register(auditRoutes, { access: services.access });
  await app.register(dashboardRoutes, { access: services.access });
  await app.register(webhookRoutes, { webhooks: integrations?.webhooks as never });
  await app.register(chatopsRoutes, { chatops: integrations?.chatops, users: integrations?.slackUsers as never });
  return app;
}
