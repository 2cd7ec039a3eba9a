// Recovery: an environment's state backups (list, download), restoring one, and drift checks
// (on demand, on a schedule, their result). Each handler turns the request into an actor and
// its input, and calls the domain.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { DriftChecks } from '../recovery/drift-checks.js';
import { REPAIR_STEPS, type RepairSessions } from '../recovery/repair-sessions.js';
import type { RestoreRequests } from '../recovery/restore-requests.js';
import type { StateBackups } from '../recovery/state-backups.js';
import { actorOf } from './request-actor.js';
import { accepted } from './accepted.js';
import { ANY_CREDENTIAL, EnvironmentName, PageOf, PageQuery, PrintableText, problems } from './schemas.js';

export interface RecoveryServices {
  backups: StateBackups;
  restores: RestoreRequests;
  drift: DriftChecks;
  repairs: RepairSessions;
}

const RepairSession = Type.Object({
  id: Type.String({ format: 'uuid' }),
  environment: EnvironmentName,
  openedBy: Type.String(),
  reason: Type.String(),
  backupId: Type.Union([Type.String(), Type.Null()], { description: 'The backup taken when it opened' }),
  openedAt: Type.String({ format: 'date-time' }),
  idleUntil: Type.String({ format: 'date-time', description: 'It expires, and the queue goes on, unless used before this' }),
  closedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  closedBy: Type.Union([Type.String(), Type.Null()]),
}, { additionalProperties: false });

const DriftSchedule = Type.Object({
  environment: EnvironmentName,
  cron: Type.String(),
  remediate: Type.Boolean(),
  nextDueAt: Type.String({ format: 'date-time' }),
  updatedBy: Type.String(),
  updatedAt: Type.String({ format: 'date-time' }),
}, { additionalProperties: false });

export const StateBackup = Type.Object({
  id: Type.String({ format: 'uuid' }),
  environment: EnvironmentName,
  operationId: Type.Union([Type.String(), Type.Null()], { description: 'The operation after which (before_restore: before which) it was taken' }),
  reason: Type.Enum(['after_operation', 'before_restore', 'before_repair'] as const),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256 of the exported state; the file is kept under this name' }),
  size: Type.Integer({ description: 'Bytes' }),
  resourceCount: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
}, { $id: 'StateBackup', additionalProperties: false, description: "An export of the stack's state (secrets stay ciphertext)" });

const Env = Type.Object({ env: EnvironmentName });
const tags = ['recovery'];

export const recoveryRoutes: FastifyPluginAsyncTypebox<RecoveryServices> = async (app, { backups, restores, drift, repairs }) => {
  app.get('/v1/environments/:env/backups', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'listBackups', tags, summary: "The environment's state backups, newest first",
      params: Env, querystring: PageQuery,
      response: { 200: PageOf('StateBackup'), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request) => backups.list(actorOf(request), request.params.env, request.query.limit, request.query.cursor));

  app.get('/v1/environments/:env/backups/:id', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'downloadBackup', tags,
      summary: "Download a backup: the stack's exported state, in `pulumi stack export`'s format (admin only; audited)",
      description: 'Its secrets are the stack\'s ciphertext. A file that no longer matches its sha256 is refused (422 backup_checksum_mismatch).',
      params: Type.Object({ env: EnvironmentName, id: Type.String({ format: 'uuid' }) }),
      response: {
        200: { description: 'The exported state', content: { 'application/json': { schema: Type.Object({}, { additionalProperties: true }) } } },
        ...problems(400, 401, 403, 404, 422, 429, 500),
      },
    },
  }, async (request, reply) => {
    const { backup, content } = await backups.download(actorOf(request), request.params.env, request.params.id);
    return reply.type('application/json').header('x-content-sha256', backup.sha256)
      .header('content-disposition', `attachment; filename="${backup.environment}-${backup.id}.json"`).send(content as never); // sent as exported, byte for byte: its sha256 is the header's
  });

  app.post('/v1/environments/:env/restores', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'restoreState', tags,
      summary: "Restore the stack's state from one of its backups (an operation of type restore)",
      description: 'Needs an admin session (second factor). Queued in the stack\'s FIFO; on a protected environment it waits for approval '
        + 'with what it would change. It checks the backup\'s sha256 and that every resource is this stack\'s, backs up the current state, '
        + 'imports the backup, and ends with a refresh preview: how the restored state differs from what really runs.',
      params: Env,
      body: Type.Object({
        backup: Type.String({ format: 'uuid', description: 'A backup id of this environment' }),
        message: Type.Optional(PrintableText(500)),
      }, { additionalProperties: false }),
      response: { 202: Type.Ref('Operation'), ...problems(400, 401, 403, 404, 413, 415, 422, 429, 500) },
    },
  }, async (request, reply) => {
    const operation = await restores.request(actorOf(request), request.params.env, request.body);
    return accepted(reply, operation);
  });

  app.post('/v1/environments/:env/drift-checks', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'checkDrift', tags,
      summary: 'Queue a drift check now: a refresh preview (an operation of type drift_check) that changes nothing',
      params: Env,
      response: { 202: Type.Ref('Operation'), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request, reply) => {
    const operation = await drift.request(actorOf(request), request.params.env);
    return accepted(reply, operation);
  });

  app.get('/v1/environments/:env/drift', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'getDrift', tags, summary: "The last drift check's result, and the environment's drift schedule",
      params: Env,
      response: {
        200: Type.Object({ drift: Type.Union([Type.Ref('Drift'), Type.Null()]), schedule: Type.Union([DriftSchedule, Type.Null()]) }, { additionalProperties: false }),
        ...problems(400, 401, 403, 404, 429, 500),
      },
    },
  }, async (request) => drift.view(actorOf(request), request.params.env));

  app.put('/v1/environments/:env/drift-schedule', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'scheduleDriftChecks', tags,
      summary: 'Check drift on a cron schedule; with `remediate`, a drift queues an update with --refresh (approval rules apply)',
      params: Env,
      body: Type.Object({
        cron: Type.String({ minLength: 1, maxLength: 100, description: 'Five or six fields, as croner reads them: "0 */6 * * *" is every 6 hours' }),
        remediate: Type.Optional(Type.Boolean({ default: false })),
      }, { additionalProperties: false }),
      response: { 200: DriftSchedule, ...problems(400, 401, 403, 404, 413, 415, 429, 500) },
    },
  }, async (request) => drift.setSchedule(actorOf(request), request.params.env, request.body));

  app.delete('/v1/environments/:env/drift-schedule', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'unscheduleDriftChecks', tags, summary: 'Stop checking drift on a schedule',
      params: Env,
      response: { 204: Type.Null(), ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request, reply) => {
    await drift.deleteSchedule(actorOf(request), request.params.env);
    return reply.code(204).send(null);
  });

  app.post('/v1/environments/:env/repairs', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'openRepairSession', tags,
      summary: "Open a repair session: the environment's new operations stay queued until it closes or idles out",
      description: 'Needs an admin session (second factor) and a stack no operation holds (409 environment_busy); a backup of the state is taken first.',
      params: Env,
      body: Type.Object({ reason: PrintableText(500) }, { additionalProperties: false }),
      response: { 201: RepairSession, ...problems(400, 401, 403, 404, 409, 413, 415, 429, 500) },
    },
  }, async (request, reply) => reply.code(201).send(await repairs.open(actorOf(request), request.params.env, request.body.reason)));

  app.get('/v1/environments/:env/repairs/current', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'getRepairSession', tags, summary: 'The open repair session (409 repair_session_closed when none)',
      params: Env,
      response: { 200: RepairSession, ...problems(400, 401, 403, 404, 409, 429, 500) },
    },
  }, async (request) => repairs.current(actorOf(request), request.params.env));

  app.delete('/v1/environments/:env/repairs/current', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'closeRepairSession', tags, summary: 'Close the repair session: the queue goes on',
      params: Env,
      response: { 204: Type.Null(), ...problems(400, 401, 403, 404, 409, 429, 500) },
    },
  }, async (request, reply) => {
    await repairs.close(actorOf(request), request.params.env);
    return reply.code(204).send(null);
  });

  app.post('/v1/environments/:env/repairs/current/steps', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'runRepairStep', tags,
      summary: 'Run one repair step in your open session; its output is returned and the step audited',
      description: 'unlock removes stale locks only (none held by a live Pulumi CLI of this host); clear-pending refreshes with '
        + '--clear-pending-creates, --skip-pending-creates or --import-pending-creates for each of `imports` (or the one `urn` and `id`), '
        + 'leaving pending creates not named pending; refresh; state-delete, state-unprotect (urn); state-repair.',
      params: Env,
      body: Type.Object({
        step: Type.Enum(REPAIR_STEPS),
        urn: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, pattern: '^urn:pulumi:[^\\u0000-\\u001f]+$' })),
        pendingCreates: Type.Optional(Type.Enum(['clear', 'skip', 'import'] as const)),
        id: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, pattern: '^[^\\u0000-\\u001f]+$' })),
        imports: Type.Optional(Type.Array(Type.Object({
          urn: Type.String({ minLength: 1, maxLength: 2000, pattern: '^urn:pulumi:[^\\u0000-\\u001f]+$' }),
          id: Type.String({ minLength: 1, maxLength: 1000, pattern: '^[^\\u0000-\\u001f]+$' }),
        }, { additionalProperties: false }), { minItems: 1, maxItems: 100, description: 'clear-pending with import: each pending create to import, by urn, under the id the provider gave it' })),
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({ step: Type.Enum(REPAIR_STEPS), output: Type.String() }, { additionalProperties: false }),
        ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 500),
      },
    },
  }, async (request) => repairs.step(actorOf(request), request.params.env, request.body));
};
