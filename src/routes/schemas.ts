// Schemas shared by the routes. Each is at once the validation, the TypeScript type and the
// OpenAPI component of what it describes.
import { Type, type Static } from 'typebox';
import { ROLES } from '../auth/roles.js';
import { ENVIRONMENT_NAME_PATTERN } from '../environments/environment-name.js';
import { ERROR_CODES, OPERATION_TYPES, SCOPES, STATUSES } from '../operations/operation.js';

export const Problem = Type.Object({
  type: Type.String({ description: 'A URI naming the kind of problem' }),
  title: Type.String(),
  status: Type.Integer(),
  code: Type.String({ description: 'Stable machine-readable code, for example environment_not_found' }),
  detail: Type.String(),
  instance: Type.Optional(Type.String()),
  requestId: Type.Optional(Type.String()),
  field: Type.Optional(Type.String({ description: 'For invalid input: the offending field' })),
}, { $id: 'Problem', additionalProperties: true, description: 'An RFC 9457 problem (application/problem+json)' });

/** Text a person wrote: bounded, and free of control characters (a NUL would fail the CLI's spawn, and PostgreSQL's insert). */
export const PrintableText = (maxLength: number, description?: string) =>
  Type.String({ maxLength, pattern: '^[^\\u0000-\\u001f\\u007f]*$', ...(description ? { description } : {}) });

export const EnvironmentName = Type.String({ pattern: ENVIRONMENT_NAME_PATTERN, description: 'Environment (= stack) name' });
export const OperationId = Type.String({ format: 'uuid', description: 'Operation id' });

export const ChangeSummary = Type.Record(Type.String(), Type.Integer(), { description: 'Resources by change kind (create, update, delete, replace, same...)' });

export const Operation = Type.Object({
  id: OperationId,
  environment: EnvironmentName,
  type: Type.Enum(OPERATION_TYPES, { description: 'What the operation does' }),
  spec: Type.Object({
    scope: Type.Enum(SCOPES, { description: 'Which layer of the program it touches' }),
    debug: Type.Optional(Type.Boolean({ description: "The engine's debug diagnostics are kept in its events" })),
  }, { additionalProperties: false, description: 'What the operation was asked to do beyond its type' }),
  message: Type.Union([Type.String(), Type.Null()]),
  status: Type.Enum(STATUSES, {
    description: 'queued → running → succeeded | failed | cancelled; a running operation whose runner died is recovering (it still holds the stack) and then interrupted',
  }),
  requestedBy: Type.String(),
  queuedAt: Type.String({ format: 'date-time' }),
  startedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  cancelRequested: Type.Boolean(),
  summary: Type.Union([ChangeSummary, Type.Null()]),
  outputs: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], { description: 'Stack outputs; secrets are "[secret]"' }),
  resourceCount: Type.Union([Type.Integer(), Type.Null()]),
  warnings: Type.Array(Type.String()),
  error: Type.Union([Type.String(), Type.Null()], { description: 'What failed and what to do, in words' }),
  errorCode: Type.Union([Type.Enum(ERROR_CODES), Type.Null()], {
    description: 'Why it did not succeed: locked, cancelled, plugin_missing, program_failed, resource_failed (the error names each resource), engine_failed, engine_killed (the CLI died on a signal), interrupted (its runner died)',
  }),
  pulumiVersion: Type.Union([Type.String(), Type.Null()]),
}, { $id: 'Operation', additionalProperties: false });

export const OperationRequest = Type.Object({
  type: Type.Enum(OPERATION_TYPES, { description: 'preview, update, refresh or destroy' }),
  scope: Type.Optional(Type.Enum(SCOPES, { description: 'all (default), infrastructure or workloads' })),
  message: Type.Optional(PrintableText(500, 'Recorded with the update in the stack history; one line of printable text')),
  debug: Type.Optional(Type.Boolean({ description: "Keep the engine's debug diagnostics in this operation's events (left out by default)" })),
}, { additionalProperties: false });
export type OperationRequest = Static<typeof OperationRequest>;

export const OperationPage = Type.Object({
  items: Type.Array(Type.Ref('Operation')),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last' }),
}, { additionalProperties: false });

export const Environment = Type.Object({
  name: EnvironmentName,
  stack: Type.String(),
  project: Type.String(),
  status: Type.Enum(['idle', 'running', 'recovering', 'queued'] as const, { description: 'Whether an operation holds the stack now, or waits for it' }),
  lastOperation: Type.Union([Type.Ref('Operation'), Type.Null()]),
  holder: Type.Union([Type.Object({
    operationId: OperationId,
    requestedBy: Type.String(),
    since: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  }, { additionalProperties: false }), Type.Null()], { description: 'The operation that holds the stack in the queue' }),
  queueLength: Type.Integer({ description: 'Operations waiting for the stack' }),
  locks: Type.Union([Type.Array(Type.Object({
    pid: Type.Integer(),
    username: Type.String(),
    hostname: Type.String(),
    timestamp: Type.String(),
  }, { additionalProperties: false })), Type.Null()], { description: "The locks the state backend holds on the stack now (null when this backend's locks cannot be read)" }),
  resourceCount: Type.Union([Type.Integer(), Type.Null()]),
  outputs: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], { description: 'Stack outputs; secrets are "[secret]"' }),
}, { $id: 'Environment', additionalProperties: false });

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input; `field` names it', 401: 'No valid credential', 403: 'Not allowed', 404: 'Not found',
  406: 'The client does not accept text/event-stream', 409: 'Conflicts with the current state',
  413: 'Body too large', 415: 'Body is not application/json', 422: 'Idempotency-Key reused with another request',
  429: 'Rate limited; see Retry-After', 500: 'Something failed; the request id identifies it in the log',
};

/** The error responses a route can give, by status code: all application/problem+json. */
export function problems(...codes: number[]): Record<number, unknown> {
  return Object.fromEntries(codes.map((c) => [c, {
    description: PROBLEM_DESCRIPTIONS[c] ?? 'Error',
    content: { 'application/problem+json': { schema: Type.Ref('Problem') } },
  }]));
}

export const Grant = Type.Object({
  role: Type.Enum(ROLES, { description: 'viewer reads; deployer previews, updates, refreshes, cancels; admin also destroys and manages keys and audit' }),
  environments: Type.Union([Type.Literal('*'), Type.Array(EnvironmentName, { minItems: 1, maxItems: 64 })], {
    description: '"*" for every environment (production only to read), or a list; only a list naming production lets it be changed',
  }),
}, { $id: 'Grant', additionalProperties: false });

export const ApiKey = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  principal: Type.String(),
  grants: Type.Array(Type.Ref('Grant')),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  replacedBy: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  graceUntil: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'After a rotation: when this key stops working' }),
}, { $id: 'ApiKey', additionalProperties: false });

/** Who may call: an API key, a session (API key + TOTP) or an OIDC token. */
export const ANY_CREDENTIAL: Array<Record<string, string[]>> = [{ apiKey: [] }, { session: [] }, { oidcToken: [] }];
/** Admin routes need the second factor a session carries. */
export const SESSION_ONLY: Array<Record<string, string[]>> = [{ session: [] }];
export const KEY_ONLY: Array<Record<string, string[]>> = [{ apiKey: [] }];
