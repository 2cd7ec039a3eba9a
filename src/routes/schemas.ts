// Schemas shared by the routes. Each is at once the validation, the TypeScript type and the
// OpenAPI component of what it describes.
import { Type, type Static } from 'typebox';
import { ROLES } from '../auth/roles.js';
import { ENVIRONMENT_NAME_PATTERN } from '../environments/environment-name.js';
import { DIRECT_OPERATION_TYPES, ERROR_CODES, OPERATION_TYPES, SCOPES, STATUSES } from '../operations/operation.js';
import { CONFIG_PATH_PATTERN, MAX_PATH_LENGTH } from '../releases/config-path.js';

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

const Time = Type.String({ format: 'date-time' });
const Digest = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256, hex' });

export const PlanView = Type.Object({
  summary: ChangeSummary,
  changes: Type.Array(Type.Object({ urn: Type.String(), type: Type.String(), op: Type.String() }, { additionalProperties: false }), { description: 'The resources the plan changes, with how' }),
  configVersion: Type.Integer(),
  programDigest: Type.String(),
  stateDigest: Type.String({ description: "sha256 of the stack's exported state when the plan was made" }),
  plannedAt: Time,
  approvals: Type.Array(Type.Object({
    principal: Type.String(), decision: Type.Enum(['approve', 'reject'] as const), comment: Type.Union([Type.String(), Type.Null()]), at: Time,
  }, { additionalProperties: false })),
  approvalsNeeded: Type.Integer(),
  expiresAt: Time,
}, { $id: 'Plan', additionalProperties: false, description: 'A saved plan waiting for approval: what it changes, and what it was made against' });

export const Operation = Type.Object({
  id: OperationId,
  environment: EnvironmentName,
  type: Type.Enum(OPERATION_TYPES, { description: 'What the operation does' }),
  spec: Type.Object({
    scope: Type.Enum(SCOPES, { description: 'Which layer of the program it touches' }),
    debug: Type.Optional(Type.Boolean({ description: "The engine's debug diagnostics are kept in its events" })),
    rollback: Type.Optional(Type.Object({
      to: Type.String({ description: 'The release it returns to' }),
      from: Type.Union([Type.String(), Type.Null()], { description: 'The release it rolls away from' }),
      emergency: Type.Boolean({ description: 'Run without approval by an admin with a second factor' }),
      automatic: Type.Optional(Type.Object({
        reason: Type.String({ description: 'Why the verifier rolled back: the check that failed and what it measured' }),
      }, { additionalProperties: false, description: 'Queued by the verifier (system:verifier) when the release it rolls away from failed verification' })),
    }, { additionalProperties: false })),
    promotion: Type.Optional(Type.Object({ from: EnvironmentName, release: Type.String() }, { additionalProperties: false })),
    restore: Type.Optional(Type.Object({ backup: Type.String({ description: 'The backup whose state it imports' }) }, { additionalProperties: false })),
    refresh: Type.Optional(Type.Boolean({ description: 'The state is refreshed before the update (--refresh)' })),
    remediates: Type.Optional(Type.String({ description: 'The drift check whose drift this update corrects' })),
    bypassWindow: Type.Optional(Type.Object({ reason: Type.String() }, { additionalProperties: false, description: 'Run whatever the maintenance window said: an admin\'s emergency, with its reason' })),
    notice: Type.Optional(Type.Object({
      operation: OperationId,
      notice: Type.Enum(['scheduled', 'upcoming'] as const),
      notBefore: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    }, { additionalProperties: false, description: 'A preview run for the advance notice (maintenance.notice) of this scheduled operation' })),
  }, { additionalProperties: false, description: 'What the operation was asked to do beyond its type' }),
  message: Type.Union([Type.String(), Type.Null()]),
  status: Type.Enum(STATUSES, {
    description: 'queued → running → succeeded | failed | cancelled; a running operation whose runner died is recovering (it still holds the stack) and then interrupted. '
      + 'A change that maintenance windows hold is scheduled (not before notBefore) while its environment\'s window is shut, and queued again when it opens. '
      + 'On a protected environment an update or destroy first plans and is awaiting_approval (no engine runs), then is queued again to apply its plan once approved, or ends rejected, expired or cancelled',
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
    description: 'Why it did not succeed: locked, cancelled, plugin_missing, program_failed, resource_failed (the error names each resource), engine_failed, engine_killed (the CLI died on a signal), interrupted (its runner died), '
      + 'plan_stale (the state, configuration or program changed since its plan was made: nothing was applied), plan_violated (the engine found the update leaving its plan), rejected, approval_expired, '
      + 'dependencies_changed (the program snapshot was locked with other dependencies than those installed), program_missing, '
      + 'program_build_failed (the program does not compile: the error names the file and line)',
  }),
  pulumiVersion: Type.Union([Type.String(), Type.Null()]),
  configVersion: Type.Union([Type.Integer(), Type.Null()], { description: 'The configuration version it runs with' }),
  programDigest: Type.Union([Type.String(), Type.Null()], { description: 'sha256 of the program it runs (Pulumi.yaml, programs/, package.json, package-lock.json)' }),
  plan: Type.Union([Type.Ref('Plan'), Type.Null()], { description: 'On a protected environment: the saved plan, once made' }),
  notBefore: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: "While scheduled: when its environment's maintenance window next opens (null when no opening is coming)" }),
}, { $id: 'Operation', additionalProperties: false });

/** An emergency: run now whatever the maintenance window says. */
export const BypassWindow = Type.Object({
  reason: Type.Optional(PrintableText(500, 'Why this change cannot wait: required (400 bypass_reason_required), kept in the audit trail')),
}, { additionalProperties: false, description: 'Run now even though the maintenance window is shut: an admin of the environment with a second-factor session' });

/** A configuration path, as `pulumi config set --path` takes it. */
export const ConfigPath = Type.String({ pattern: CONFIG_PATH_PATTERN, maxLength: MAX_PATH_LENGTH, description: 'A path as `pulumi config set --path` takes it: backend.image, aws:region, hosts[0]' });
const MAX_VALUE = 4096;
// Checked in the domain (releases/config-path.ts), not here: the validator coerces types, and "80" must stay a string.
const ConfigValue = Type.Unknown({ description: 'A string (at most 4096 characters, printable), number or boolean' });

export const ConfigChange = Type.Object({
  set: Type.Optional(Type.Record(ConfigPath, ConfigValue, { maxProperties: 100, description: 'Values to set, by path' })),
  secrets: Type.Optional(Type.Record(ConfigPath, Type.String({ minLength: 1, maxLength: MAX_VALUE }), { maxProperties: 20, description: "Secret values to set, by path: encrypted by the stack's secrets provider, never stored or shown in clear" })),
  unset: Type.Optional(Type.Array(ConfigPath, { maxItems: 100, description: 'Paths to remove' })),
  message: Type.Optional(PrintableText(500, 'Why, in one line')),
}, { $id: 'ConfigChange', additionalProperties: false, description: 'A change to an environment\'s configuration: a new version from the latest' });

export const ConfigVersion = Type.Object({
  environment: EnvironmentName,
  version: Type.Integer({ minimum: 1 }),
  values: Type.Record(Type.String(), Type.Unknown(), { description: 'Every value by path (the project\'s namespace left out); secrets are "[secret]"' }),
  author: Type.String({ description: 'Who made it: a principal, `file` (brought in from the committed stack file) or `rollback`' }),
  createdAt: Time,
  message: Type.Union([Type.String(), Type.Null()]),
}, { $id: 'ConfigVersion', additionalProperties: false });

export const Release = Type.Object({
  id: Type.String({ format: 'uuid' }),
  environment: EnvironmentName,
  number: Type.Integer({ minimum: 1, description: '1, 2, 3… within the environment' }),
  configVersion: Type.Integer(),
  programDigest: Type.String(),
  images: Type.Record(Type.String(), Type.String(), { description: 'The workload image settings, by path' }),
  operationId: OperationId,
  requestedBy: Type.String(),
  approvedBy: Type.Array(Type.String()),
  createdAt: Time,
  status: Type.Enum(['current', 'superseded', 'rolled_back'] as const),
  verification: Type.Union([Type.Enum(['verifying', 'verified', 'failed_verification', 'inconclusive'] as const), Type.Null()], {
    description: 'How its verification went (GET …/verification for the details); null where the environment had no health checks',
  }),
}, { $id: 'Release', additionalProperties: false, description: 'What a succeeded update put into an environment' });

/** Keyset pages of any component. */
export const PageOf = (ref: string) => Type.Object({
  items: Type.Array(Type.Ref(ref)),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last' }),
}, { additionalProperties: false });

export const PageQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
}, { additionalProperties: false });

export const OperationRequest = Type.Object({
  type: Type.Enum(DIRECT_OPERATION_TYPES, { description: 'preview, update, refresh or destroy' }),
  scope: Type.Optional(Type.Enum(SCOPES, { description: 'all (default), infrastructure or workloads' })),
  message: Type.Optional(PrintableText(500, 'Recorded with the update in the stack history; one line of printable text')),
  debug: Type.Optional(Type.Boolean({ description: "Keep the engine's debug diagnostics in this operation's events (left out by default)" })),
  configVersion: Type.Optional(Type.Integer({ minimum: 1, description: 'Run with this configuration version (default: the latest)' })),
  config: Type.Optional(Type.Ref('ConfigChange', { description: 'Make a new configuration version from the latest and run with it, in one transaction: CI\'s one-call deploy of a new image' })),
  bypassWindow: Type.Optional(BypassWindow),
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
  status: Type.Enum(['idle', 'running', 'recovering', 'awaiting_approval', 'queued'] as const, { description: 'Whether an operation holds the stack now (running, or its plan awaiting approval), or waits for it' }),
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
  currentRelease: Type.Union([Type.Ref('Release'), Type.Null()]),
  awaitingApproval: Type.Union([OperationId, Type.Null()], { description: 'The operation whose saved plan waits for approval' }),
  drift: Type.Union([Type.Ref('Drift'), Type.Null()], { description: 'The last drift check: null before the first' }),
}, { $id: 'Environment', additionalProperties: false });

export const Drift = Type.Object({
  checkedAt: Type.String({ format: 'date-time' }),
  status: Type.Enum(['in_sync', 'drifted', 'failed'] as const),
  operationId: OperationId,
  resources: Type.Array(Type.Object({
    urn: Type.String(), type: Type.String(), change: Type.String({ description: 'What a refresh would do to the state: update, delete...' }),
  }, { additionalProperties: false }), { description: 'The resources that drifted' }),
}, { $id: 'Drift', additionalProperties: false, description: 'What the last drift check (a refresh preview) found' });

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input; `field` names it', 401: 'No valid credential', 403: 'Not allowed', 404: 'Not found',
  406: 'The client does not accept text/event-stream', 409: 'Conflicts with the current state',
  412: 'If-Match names a version that is no longer the latest', 428: 'If-Match is required',
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
  role: Type.Enum(ROLES, { description: 'viewer reads; deployer previews, updates, refreshes, cancels, promotes, rolls back, changes configuration; approver reads and approves others\' plans; admin does all of it, destroys, and manages keys and audit' }),
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
