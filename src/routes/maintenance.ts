// Maintenance windows: an environment's rules and next openings, setting them, and every
// scheduled change across environments. Each handler turns the request into an actor and its
// input, and calls the calendar, which decides and audits.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { MaintenanceCalendar } from '../calendar/maintenance-calendar.js';
import { actorOf } from './request-actor.js';
import { ANY_CREDENTIAL, EnvironmentName, PrintableText, problems } from './schemas.js';

const Time = Type.String({ format: 'date-time' });
const tags = ['maintenance'];

const WindowRule = Type.Object({
  cron: Type.String({ minLength: 1, maxLength: 100, description: 'When it opens, read in `timezone`: five fields, or six with seconds first ("0 2 * * 0" is Sundays at 02:00); 400 invalid_cron' }),
  duration: Type.String({ minLength: 1, maxLength: 40, description: 'How long it stays open, elapsed time, as an ISO 8601 duration: PT2H, PT90M (positive, at most 31 days; 400 invalid_duration)' }),
  timezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone: America/Toronto (400 unknown_time_zone)' }),
}, { additionalProperties: false });

const FreezeRule = Type.Object({
  from: Time,
  to: Type.String({ format: 'date-time', description: 'After `from` (400 invalid_freeze)' }),
  reason: PrintableText(500),
}, { additionalProperties: false, description: 'No change the windows hold starts from `from` until `to`, whatever the windows say' });

const Calendar = Type.Object({
  environment: EnvironmentName,
  windows: Type.Array(WindowRule),
  freezes: Type.Array(FreezeRule),
  noticeHours: Type.Integer({ description: 'The second advance notice goes this many hours before a scheduled change\'s window opens' }),
  open: Type.Boolean({ description: 'Whether changes may start now (always, without windows)' }),
  nextOpenings: Type.Array(Type.Object({
    opensAt: Time,
    closesAt: Time,
    timezone: Type.String({ description: 'The time zone of the window that opens' }),
    local: Type.Object({ opensAt: Type.String(), closesAt: Type.String() }, { additionalProperties: false, description: 'The same times on that zone\'s wall clock, with its offset: 2026-03-08T03:00:00-04:00' }),
  }, { additionalProperties: false }), { description: 'The next five openings after now (none when the environment is always open)' }),
  updatedBy: Type.Union([Type.String(), Type.Null()]),
  updatedAt: Type.Union([Time, Type.Null()]),
}, { additionalProperties: false });

const Env = Type.Object({ env: EnvironmentName });

export const maintenanceRoutes: FastifyPluginAsyncTypebox<{ calendar: MaintenanceCalendar }> = async (app, { calendar }) => {
  app.get('/v1/environments/:env/windows', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'getMaintenanceWindows', tags,
      summary: "The environment's maintenance windows and freezes, and its next five openings in each window's time zone and in UTC",
      params: Env,
      response: { 200: Calendar, ...problems(400, 401, 403, 404, 429, 500) },
    },
  }, async (request) => calendar.view(actorOf(request), request.params.env));

  app.put('/v1/environments/:env/windows', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'setMaintenanceWindows', tags,
      summary: "Replace the environment's maintenance windows and freezes (admins of the environment; audited)",
      description: 'Updates, destroys, promotions and rollbacks asked for while no window is open (or a freeze is on) are scheduled and run, '
        + 'in order, when one opens; previews, drift checks, refreshes and reads never wait. No windows (the default) means always open. '
        + 'Operations already scheduled follow the new rules at once.',
      params: Env,
      body: Type.Object({
        windows: Type.Array(WindowRule, { maxItems: 20 }),
        freezes: Type.Optional(Type.Array(FreezeRule, { maxItems: 50 })),
        noticeHours: Type.Optional(Type.Integer({ minimum: 0, maximum: 720, default: 24, description: 'Hours before an opening that the second maintenance.notice goes (default 24)' })),
      }, { additionalProperties: false }),
      response: { 200: Calendar, ...problems(400, 401, 403, 404, 413, 415, 429, 500) },
    },
  }, async (request) => calendar.set(actorOf(request), request.params.env, request.body));

  app.get('/v1/maintenance', {
    schema: {
      security: ANY_CREDENTIAL, operationId: 'listScheduledChanges', tags,
      summary: 'Every scheduled operation across the environments you can read, soonest first',
      response: {
        200: Type.Object({ items: Type.Array(Type.Ref('Operation')) }, { additionalProperties: false }),
        ...problems(401, 403, 429, 500),
      },
    },
  }, async (request) => ({ items: await calendar.maintenance(actorOf(request)) }));
};
