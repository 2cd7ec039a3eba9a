// Verified releases: an environment's health checks (set by an admin of it, audited) and a
// release's verification. The schema bounds what it can (an interval of 5 s at least, counts of
// one at least); the domain refuses what it cannot (a condition that does not parse).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { HealthChecks } from '../verification/health-checks.js';
import { actorOf } from './request-actor.js';
import { ANY_CREDENTIAL, EnvironmentName, problems } from './schemas.js';

export interface VerificationServices {
  healthChecks: HealthChecks;
}

const Seconds = (minimum: number, maximum: number, description: string) => Type.Integer({ minimum, maximum, description });

const Query = Type.Object({
  name: Type.String({ pattern: '^[a-z][a-z0-9_-]{0,62}$', description: 'Unique among the queries' }),
  query: Type.String({ minLength: 1, maxLength: 2000, description: 'PromQL, run as an instant query' }),
  condition: Type.String({ minLength: 1, maxLength: 60, description: 'What the first sample must satisfy: a comparison and a number, like "< 0.05" (Argo\'s "result[0] < 0.05" reads too)' }),
  interval: Seconds(5, 3600, 'Seconds between measurements'),
  count: Type.Integer({ minimum: 1, maximum: 1000, description: 'Measurements to take' }),
  failureLimit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: 0, description: 'Failed measurements tolerated; one more fails the release' })),
  consecutiveErrorLimit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: 4, description: 'Measurements in a row that could not be taken tolerated; one more ends the verification inconclusive' })),
}, { additionalProperties: false });

const HealthCheckBody = Type.Object({
  bakeSeconds: Seconds(1, 86_400, 'How long a new release bakes before it can be verified'),
  rollout: Type.Optional(Type.Boolean({ default: false, description: "The release's Deployments are available with its images, and never below their desired replicas while it bakes" })),
  prometheus: Type.Optional(Type.Object({
    url: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 500, description: 'Prometheus base URL (default: STACKPILOT_PROMETHEUS_URL)' })),
    queries: Type.Array(Query, { minItems: 1, maxItems: 20 }),
  }, { additionalProperties: false })),
  cloudwatch: Type.Optional(Type.Object({
    region: Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]$', description: 'AWS region of the alarms' }),
    alarms: Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { minItems: 1, maxItems: 100, description: 'Alarm names; one in ALARM fails the release' }),
    interval: Type.Optional(Seconds(5, 3600, 'Seconds between readings (default 60)')),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

const HealthCheckSpec = Type.Object({
  bakeSeconds: Type.Integer(),
  rollout: Type.Boolean(),
  prometheus: Type.Optional(Type.Object({
    url: Type.Optional(Type.String()),
    queries: Type.Array(Type.Object({
      name: Type.String(), query: Type.String(), condition: Type.String(), interval: Type.Integer(), count: Type.Integer(),
      failureLimit: Type.Integer(), consecutiveErrorLimit: Type.Integer(),
    }, { additionalProperties: false })),
  }, { additionalProperties: false })),
  cloudwatch: Type.Optional(Type.Object({ region: Type.String(), alarms: Type.Array(Type.String()), interval: Type.Integer() }, { additionalProperties: false })),
}, { $id: 'HealthCheckSpec', additionalProperties: false });

const HealthChecksView = Type.Object({
  environment: EnvironmentName,
  spec: Type.Ref('HealthCheckSpec'),
  updatedBy: Type.String(),
  updatedAt: Type.String({ format: 'date-time' }),
}, { additionalProperties: false });

const CheckProgress = Type.Object({
  measurements: Type.Integer(), failures: Type.Integer(), errors: Type.Integer(), consecutiveErrors: Type.Integer(),
  lastAt: Type.Union([Type.Integer({ description: 'Epoch ms' }), Type.Null()]),
  last: Type.Union([Type.String(), Type.Null()], { description: 'What the last measurement said' }),
}, { additionalProperties: false });

const VerificationView = Type.Object({
  releaseId: Type.String({ format: 'uuid' }),
  environment: EnvironmentName,
  releaseNumber: Type.Integer(),
  status: Type.Enum(['verifying', 'verified', 'failed_verification', 'inconclusive'] as const),
  spec: Type.Ref('HealthCheckSpec'),
  checks: Type.Record(Type.String(), CheckProgress, { description: 'By check: rollout, query:<name>, cloudwatch' }),
  startedAt: Type.String({ format: 'date-time' }),
  bakeUntil: Type.String({ format: 'date-time' }),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'Why it ended as it did' }),
  rollbackOperationId: Type.Union([Type.String(), Type.Null()], { description: 'The automatic rollback it queued' }),
}, { additionalProperties: false });

export const verificationSchemas = [HealthCheckSpec];

const Env = Type.Object({ env: EnvironmentName });
const tags = ['releases'];

export const verificationRoutes: FastifyPluginAsyncTypebox<VerificationServices> = async (app, { healthChecks }) => {
  app.put('/v1/environments/:env/health-checks', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'setHealthChecks', tags,
      summary: "Set the environment's health checks: each new release bakes and is verified against them (admin; audited)",
      description: 'A release that fails them is rolled back to the last verified release by system:verifier; one whose checks cannot be '
        + 'measured ends inconclusive. A promotion out of an environment with health checks needs a verified release.',
      params: Env, body: HealthCheckBody,
      response: { 200: HealthChecksView, ...problems(400, 401, 403, 404, 413, 415, 429, 500) },
    },
  }, async (request) => healthChecks.set(actorOf(request), request.params.env, request.body));

  app.get('/v1/environments/:env/health-checks', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'getHealthChecks', tags, summary: "The environment's health checks (404 health_checks_not_found when none)",
      params: Env,
      response: { 200: HealthChecksView, ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request) => healthChecks.get(actorOf(request), request.params.env));

  app.delete('/v1/environments/:env/health-checks', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'deleteHealthChecks', tags, summary: 'Stop verifying new releases (admin; audited)',
      params: Env,
      response: { 204: Type.Null(), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request, reply) => {
    await healthChecks.remove(actorOf(request), request.params.env);
    return reply.code(204).send(null);
  });

  app.get('/v1/environments/:env/releases/:id/verification', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'getReleaseVerification', tags, summary: "A release's verification: each check's measurements, the outcome and why",
      params: Type.Object({ env: EnvironmentName, id: Type.String({ format: 'uuid' }) }),
      response: { 200: VerificationView, ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request) => healthChecks.verification(actorOf(request), request.params.env, request.params.id));
};
