// Every setting, read once from the environment, checked against one schema, frozen. Nothing
// else reads process.env. An invalid configuration stops the process with one message listing
// every bad setting. Each secret may be given as a file too (NAME_FILE, the container
// convention); secrets given as variables are removed from process.env once read.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import ipaddr from 'ipaddr.js';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { ROLES } from './auth/roles.js';
import { ENVIRONMENT_NAME_PATTERN } from './environments/environment-name.js';

const repoDir = resolve(import.meta.dirname, '..');

const GrantSchema = Type.Object({
  role: Type.Enum(ROLES),
  environments: Type.Union([Type.Literal('*'), Type.Array(Type.String({ pattern: ENVIRONMENT_NAME_PATTERN }), { minItems: 1 })]),
}, { additionalProperties: false });

const OidcIssuerSchema = Type.Object({
  issuer: Type.String({ minLength: 1 }),
  audience: Type.String({ minLength: 1 }),
  /** https, or http only on loopback (a local test issuer). */
  jwksUri: Type.String({ pattern: '^(https://|http://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:[0-9]+)?/)' }),
  rules: Type.Array(Type.Object({
    // A rule with no claims would match every token of its issuer.
    claims: Type.Record(Type.String(), Type.String(), { minProperties: 1 }),
    grants: Type.Array(GrantSchema, { minItems: 1 }),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

const EnvironmentList = Type.Array(Type.String({ pattern: ENVIRONMENT_NAME_PATTERN }));

const Settings = Type.Object({
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  dataDir: Type.String({ minLength: 1 }),
  /** The Pulumi project (Pulumi.yaml and its stackConfigDir) the service deploys. */
  projectDir: Type.String({ minLength: 1 }),
  databaseUrl: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  stateBackendUrl: Type.String({ pattern: '^(file|s3|postgres|postgresql|gs|azblob)://' }),
  secretsPassphrase: Type.String({ minLength: 8 }),
  /** A file holding the passphrase, which the engine reads (never a variable in its environment). */
  secretsPassphraseFile: Type.String({ minLength: 1 }),
  kubeconfig: Type.Optional(Type.String({ minLength: 1 })),
  /** Serve HTTPS only (with HSTS) with this certificate and key (PEM files). */
  tlsCert: Type.Optional(Type.String({ minLength: 1 })),
  tlsKey: Type.Optional(Type.String({ minLength: 1 })),
  maxParallelOperations: Type.Integer({ minimum: 1, maximum: 64 }),
  leaseSeconds: Type.Integer({ minimum: 5, maximum: 3600 }),
  pollMilliseconds: Type.Integer({ minimum: 50, maximum: 60_000 }),
  shutdownGraceSeconds: Type.Integer({ minimum: 0, maximum: 3600 }),
  logLevel: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  /** Keep the engine's debug diagnostics in every operation's events. */
  engineDebugEvents: Type.Boolean(),
  /**
   * Node's compile cache for the engine's programs (NODE_COMPILE_CACHE under the data dir): the
   * bytecode of @pulumi/pulumi, the providers' SDKs and the program is kept between operations
   * instead of being compiled again by every run.
   */
  engineCompileCache: Type.Boolean(),
  /**
   * A resident language host per stack: a Node process, started by the service and kept between
   * operations, that runs the stack's compiled program, so an operation does not start Node and
   * load @pulumi/pulumi again (false: every run starts its own language host and Node).
   */
  engineResidentHosts: Type.Boolean(),
  /** Where each engine run writes its OpenTelemetry trace (`--otel-traces`), as <operation id>.json: for finding where an operation's time goes. */
  engineTracesDir: Type.Optional(Type.String({ minLength: 1 })),
  /** Run programs from a bundle esbuild compiled once per snapshot (false: through tsx at every run). */
  programBundles: Type.Boolean(),
  /** An API key (sp_...) installed as an admin key at start-up, for automation. */
  bootstrapAdminKey: Type.Optional(Type.String({ pattern: '^sp_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$' })),
  /** Trusted OIDC issuers and the rules that map their tokens' claims to grants. */
  oidcIssuers: Type.Array(OidcIssuerSchema),
  /** The longest an OIDC token may live (from iat to exp) and be used after it was issued. */
  oidcMaxTokenAgeSeconds: Type.Integer({ minimum: 60, maximum: 86_400 }),
  sessionLifetimeSeconds: Type.Integer({ minimum: 60, maximum: 86_400 }),
  sessionIdleSeconds: Type.Integer({ minimum: 30, maximum: 86_400 }),
  /** Event streams one principal may hold open at once (per process). */
  maxStreamsPerPrincipal: Type.Integer({ minimum: 1, maximum: 10_000 }),
  /** How often an open event stream checks that its credential is still valid. */
  streamRecheckSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
  /** The whole request (headers and body) must arrive within this; its headers within headersTimeoutSeconds. */
  requestTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
  headersTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
  rateLimitPerMinute: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  rateLimitPerSourcePerMinute: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  lockoutMaxFailures: Type.Integer({ minimum: 1, maximum: 10_000 }),
  lockoutWindowSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  /** Where setup caches the toolchain (and the local cluster keeps its state). */
  cacheDir: Type.String({ minLength: 1 }),
  /** A prebuilt toolchain (bin/, pulumi-home/) to use instead of the cache's, as the container image has. */
  toolchainDir: Type.Optional(Type.String({ minLength: 1 })),
  /** Address ranges (CIDR) webhooks and Slack replies may reach although private or loopback. */
  webhookAllow: Type.Array(Type.String({ minLength: 1 })),
  /** Seconds before each webhook attempt (the first normally 0); its length is the number of attempts. */
  webhookRetrySeconds: Type.Array(Type.Integer({ minimum: 0, maximum: 172_800 }), { minItems: 1, maxItems: 20 }),
  /** Slack app's signing secret: ChatOps is served only when it is set. */
  slackSigningSecret: Type.Optional(Type.String({ minLength: 8 })),
  /** Slack bot token (xoxb-...), to post approval requests. */
  slackBotToken: Type.Optional(Type.String({ minLength: 8 })),
  slackApiUrl: Type.String({ pattern: '^https?://' }),
  /** The Slack channel approval requests are posted to. */
  slackApprovalChannel: Type.Optional(Type.String({ minLength: 1 })),
  /** Where people reach the dashboard: production approvals from Slack link there for the second factor. */
  publicUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** Prometheus metrics: their own listener, unless a token serves them on the main one. */
  metricsHost: Type.String({ minLength: 1 }),
  metricsPort: Type.Integer({ minimum: 0, maximum: 65535 }),
  metricsToken: Type.Optional(Type.String({ minLength: 16 })),
  /** The process's own PATH, handed on to the engine behind the toolchain's bin. */
  path: Type.String(),
  /** The order releases are promoted in, first to last. */
  pipeline: EnvironmentList,
  /** Updates and destroys there wait for approval of their saved plan. */
  protectedEnvironments: EnvironmentList,
  /** How many people must approve a plan. */
  requiredApprovals: Type.Integer({ minimum: 1, maximum: 10 }),
  /** A plan not approved within this expires. */
  approvalTtlSeconds: Type.Integer({ minimum: 60, maximum: 30 * 86_400 }),
  /** Where approving needs a session opened with a one-time code. */
  secondFactorApprovalEnvironments: EnvironmentList,
  /** The configuration paths a promotion copies from one environment's release to the next. */
  promotableKeys: Type.Array(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_.:\\[\\]-]{0,199}$' }), { minItems: 1 }),
  /** Where an admin with a second factor may roll back without waiting for approval. */
  emergencyRollbackEnvironments: EnvironmentList,
  /** Where state backups are kept (default: <dataDir>/backups). */
  backupDir: Type.Optional(Type.String({ minLength: 1 })),
  /** Backups kept per environment whatever their age; older ones go once past backupKeepDays too. */
  backupKeepLast: Type.Integer({ minimum: 1, maximum: 100_000 }),
  backupKeepDays: Type.Integer({ minimum: 0, maximum: 36_500 }),
  /** A repair session unused this long expires, and the environment's queue goes on. */
  repairIdleSeconds: Type.Integer({ minimum: 10, maximum: 86_400 }),
  /** The Prometheus health-check queries ask, where an environment's checks name none. */
  prometheusUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
}, { additionalProperties: false });

export type Config = Readonly<Static<typeof Settings>>;

type Key = Exclude<keyof Static<typeof Settings>, 'path' | 'secretsPassphraseFile'>;

/** The variables read, with their defaults; the README's configuration table mirrors this. */
const VARIABLES = {
  host: ['STACKPILOT_HOST', '127.0.0.1'],
  port: ['STACKPILOT_PORT', '8080'],
  dataDir: ['STACKPILOT_DATA_DIR', join(repoDir, 'data')],
  projectDir: ['STACKPILOT_PROJECT_DIR', repoDir],
  databaseUrl: ['DATABASE_URL', undefined],
  stateBackendUrl: ['STACKPILOT_STATE_BACKEND', undefined], // default: file://<dataDir>/state
  secretsPassphrase: ['STACKPILOT_SECRETS_PASSPHRASE', undefined], // default: <dataDir>/passphrase, made once
  kubeconfig: ['STACKPILOT_KUBECONFIG', undefined],
  tlsCert: ['STACKPILOT_TLS_CERT', undefined],
  tlsKey: ['STACKPILOT_TLS_KEY', undefined],
  maxParallelOperations: ['STACKPILOT_MAX_PARALLEL', '4'],
  leaseSeconds: ['STACKPILOT_LEASE_SECONDS', '30'],
  pollMilliseconds: ['STACKPILOT_POLL_MS', '500'],
  shutdownGraceSeconds: ['STACKPILOT_SHUTDOWN_GRACE_SECONDS', '30'],
  logLevel: ['STACKPILOT_LOG_LEVEL', 'info'],
  engineDebugEvents: ['STACKPILOT_ENGINE_DEBUG_EVENTS', 'false'],
  engineTracesDir: ['STACKPILOT_ENGINE_TRACES_DIR', undefined],
  engineCompileCache: ['STACKPILOT_ENGINE_COMPILE_CACHE', 'true'],
  engineResidentHosts: ['STACKPILOT_ENGINE_RESIDENT_HOSTS', 'true'],
  programBundles: ['STACKPILOT_PROGRAM_BUNDLES', 'true'],
  bootstrapAdminKey: ['STACKPILOT_BOOTSTRAP_ADMIN_KEY', undefined],
  oidcIssuers: ['STACKPILOT_OIDC_ISSUERS', '[]'], // JSON: [{issuer, audience, jwksUri, rules: [{claims, grants}]}]
  oidcMaxTokenAgeSeconds: ['STACKPILOT_OIDC_MAX_TOKEN_AGE_SECONDS', '3600'],
  sessionLifetimeSeconds: ['STACKPILOT_SESSION_LIFETIME_SECONDS', '900'],
  sessionIdleSeconds: ['STACKPILOT_SESSION_IDLE_SECONDS', '300'],
  maxStreamsPerPrincipal: ['STACKPILOT_MAX_STREAMS_PER_PRINCIPAL', '20'],
  streamRecheckSeconds: ['STACKPILOT_STREAM_RECHECK_SECONDS', '30'],
  requestTimeoutSeconds: ['STACKPILOT_REQUEST_TIMEOUT_SECONDS', '30'],
  headersTimeoutSeconds: ['STACKPILOT_HEADERS_TIMEOUT_SECONDS', '10'],
  rateLimitPerMinute: ['STACKPILOT_RATE_LIMIT_PER_MINUTE', '600'],
  rateLimitPerSourcePerMinute: ['STACKPILOT_RATE_LIMIT_PER_SOURCE_PER_MINUTE', '3000'],
  lockoutMaxFailures: ['STACKPILOT_LOCKOUT_MAX_FAILURES', '10'],
  lockoutWindowSeconds: ['STACKPILOT_LOCKOUT_WINDOW_SECONDS', '600'],
  cacheDir: ['STACKPILOT_CACHE_DIR', undefined], // default: $XDG_CACHE_HOME/stackpilot or ~/.cache/stackpilot
  toolchainDir: ['STACKPILOT_TOOLCHAIN_DIR', undefined],
  pipeline: ['STACKPILOT_PIPELINE', 'development,testing,staging,production'],
  protectedEnvironments: ['STACKPILOT_PROTECTED_ENVIRONMENTS', 'staging,production'],
  requiredApprovals: ['STACKPILOT_REQUIRED_APPROVALS', '1'],
  approvalTtlSeconds: ['STACKPILOT_APPROVAL_TTL_SECONDS', '86400'],
  secondFactorApprovalEnvironments: ['STACKPILOT_SECOND_FACTOR_APPROVAL_ENVIRONMENTS', 'production'],
  promotableKeys: ['STACKPILOT_PROMOTABLE_KEYS', 'backend.image,frontend.image'],
  emergencyRollbackEnvironments: ['STACKPILOT_EMERGENCY_ROLLBACK_ENVIRONMENTS', 'production'],
  webhookAllow: ['STACKPILOT_WEBHOOK_ALLOW', ''], // comma-separated CIDRs
  webhookRetrySeconds: ['STACKPILOT_WEBHOOK_RETRY_SECONDS', '0,5,300,1800,7200,18000,36000,50400,72000,86400'],
  slackSigningSecret: ['STACKPILOT_SLACK_SIGNING_SECRET', undefined],
  slackBotToken: ['STACKPILOT_SLACK_BOT_TOKEN', undefined],
  slackApiUrl: ['STACKPILOT_SLACK_API_URL', 'https://slack.com/api'],
  slackApprovalChannel: ['STACKPILOT_SLACK_APPROVAL_CHANNEL', undefined],
  publicUrl: ['STACKPILOT_PUBLIC_URL', undefined],
  metricsHost: ['STACKPILOT_METRICS_HOST', '127.0.0.1'],
  metricsPort: ['STACKPILOT_METRICS_PORT', '9464'],
  metricsToken: ['STACKPILOT_METRICS_TOKEN', undefined],
  backupDir: ['STACKPILOT_BACKUP_DIR', undefined], // default: <dataDir>/backups
  backupKeepLast: ['STACKPILOT_BACKUP_KEEP_LAST', '50'],
  backupKeepDays: ['STACKPILOT_BACKUP_KEEP_DAYS', '30'],
  repairIdleSeconds: ['STACKPILOT_REPAIR_IDLE_SECONDS', '900'],
  prometheusUrl: ['STACKPILOT_PROMETHEUS_URL', undefined],
} as const satisfies Record<Key, readonly [string, string | undefined]>;

/** Variables that carry secrets: each may be given as NAME_FILE, and is removed from process.env once read. */
export const SECRET_VARIABLES = ['DATABASE_URL', 'STACKPILOT_SECRETS_PASSPHRASE', 'STACKPILOT_STATE_BACKEND', 'STACKPILOT_BOOTSTRAP_ADMIN_KEY',
  'STACKPILOT_SLACK_SIGNING_SECRET', 'STACKPILOT_SLACK_BOT_TOKEN', 'STACKPILOT_METRICS_TOKEN'] as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}

const INTEGER_KEYS = new Set(['port', 'oidcMaxTokenAgeSeconds', 'maxParallelOperations', 'leaseSeconds', 'pollMilliseconds', 'shutdownGraceSeconds',
  'sessionLifetimeSeconds', 'sessionIdleSeconds', 'requiredApprovals', 'approvalTtlSeconds', 'requestTimeoutSeconds', 'headersTimeoutSeconds', 'maxStreamsPerPrincipal', 'streamRecheckSeconds', 'rateLimitPerMinute', 'rateLimitPerSourcePerMinute', 'lockoutMaxFailures', 'lockoutWindowSeconds', 'metricsPort',
  'backupKeepLast', 'backupKeepDays', 'repairIdleSeconds']);
const BOOLEAN_KEYS = new Set(['engineDebugEvents', 'engineCompileCache', 'engineResidentHosts', 'programBundles']);
/** Comma-separated lists (an empty variable is an empty list); those of whole numbers become numbers. */
const LIST_KEYS = new Set(['webhookAllow', 'webhookRetrySeconds',
  'pipeline', 'protectedEnvironments', 'secondFactorApprovalEnvironments', 'promotableKeys', 'emergencyRollbackEnvironments']);
const NUMBER_LIST_KEYS = new Set(['webhookRetrySeconds']);
const JSON_KEYS = new Set(['oidcIssuers']);

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = [];
  const raw: Record<string, unknown> = { path: env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
  for (const [key, [name, fallback]] of Object.entries(VARIABLES)) {
    const value = readVariable(env, name, problems) ?? fallback;
    if (value === undefined) continue;
    raw[key] = INTEGER_KEYS.has(key) && /^-?\d+$/.test(value) ? Number(value)
      : BOOLEAN_KEYS.has(key) && /^(true|false)$/.test(value) ? value === 'true'
        : JSON_KEYS.has(key) ? parseJson(value)
          : LIST_KEYS.has(key) ? parseList(value, NUMBER_LIST_KEYS.has(key)) : value;
  }
  Object.assign(raw, overrides);
  const dataDir = resolve(String(raw.dataDir));
  raw.dataDir = dataDir;
  raw.projectDir = resolve(String(raw.projectDir));
  raw.stateBackendUrl ??= `file://${join(dataDir, 'state')}`;
  raw.backupDir = resolve(String(raw.backupDir ?? join(dataDir, 'backups')));
  raw.cacheDir ??= join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'stackpilot');

  problems.push(...[...Value.Errors(Settings, { ...raw, secretsPassphrase: raw.secretsPassphrase ?? 'placeholder', secretsPassphraseFile: 'placeholder' })]
    .map((e) => `${nameOf(e.instancePath)}: ${e.message}`));
  if (!existsSync(join(String(raw.projectDir), 'Pulumi.yaml'))) {
    problems.push(`STACKPILOT_PROJECT_DIR: no Pulumi.yaml in ${String(raw.projectDir)}`);
  }
  if ((raw.tlsCert === undefined) !== (raw.tlsKey === undefined)) problems.push('STACKPILOT_TLS_CERT and STACKPILOT_TLS_KEY go together');
  for (const key of ['tlsCert', 'tlsKey'] as const) {
    if (typeof raw[key] === 'string' && !existsSync(raw[key])) problems.push(`${VARIABLES[key][0]}: no file ${raw[key]}`);
  }
  for (const cidr of (raw.webhookAllow as string[] | undefined) ?? []) {
    if (!isValidCidr(cidr)) problems.push(`STACKPILOT_WEBHOOK_ALLOW: ${JSON.stringify(cidr)} is not a CIDR range (e.g. 10.0.0.0/8)`);
  }
  if (problems.length) throw new ConfigError(problems);

  const passphrase = passphraseOf(raw, env, dataDir);
  raw.secretsPassphrase = passphrase.value;
  raw.secretsPassphraseFile = passphrase.file;
  if (env === process.env) for (const name of SECRET_VARIABLES) delete process.env[name];
  return Object.freeze(raw as Static<typeof Settings>);
}

/** NAME, or the contents of the file NAME_FILE names (one trailing newline dropped). */
function readVariable(env: NodeJS.ProcessEnv, name: string, problems: string[]): string | undefined {
  const file = env[`${name}_FILE`];
  if (file === undefined || !(SECRET_VARIABLES as readonly string[]).includes(name)) return env[name];
  if (env[name] !== undefined) problems.push(`${name} and ${name}_FILE are both set: give one`);
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch {
    problems.push(`${name}_FILE: cannot read ${file}`);
    return undefined;
  }
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value; // reported by the schema check, by variable name
  }
}

function parseList(value: string, numbers: boolean): unknown[] {
  const items = value.split(',').map((item) => item.trim()).filter(Boolean);
  return numbers && items.every((item) => /^\d+$/.test(item)) ? items.map(Number) : items;
}

function isValidCidr(cidr: string): boolean {
  try {
    ipaddr.parseCIDR(cidr);
    return true;
  } catch {
    return false;
  }
}

function nameOf(instancePath: string): string {
  const key = instancePath.replace(/^\//, '').split('/')[0] as Key;
  return VARIABLES[key]?.[0] ?? key;
}

/**
 * The passphrase and the file the engine reads it from: the file named by
 * STACKPILOT_SECRETS_PASSPHRASE_FILE; a passphrase given as a variable, written (0600) into the
 * data dir; or the embedded default, made once and kept in the data dir.
 */
function passphraseOf(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, dataDir: string): { value: string; file: string } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const given = env.STACKPILOT_SECRETS_PASSPHRASE_FILE;
  // A file of the operator's is used where it is; one handed over by a launcher is removed after start-up.
  const handedOver = given !== undefined && env.STACKPILOT_SECRET_HANDOFF !== undefined && given.startsWith(env.STACKPILOT_SECRET_HANDOFF);
  if (given && !handedOver && raw.secretsPassphrase !== undefined && env.STACKPILOT_SECRETS_PASSPHRASE === undefined) {
    return { value: String(raw.secretsPassphrase), file: resolve(given) };
  }
  if (raw.secretsPassphrase !== undefined) {
    const file = join(dataDir, 'passphrase.given');
    writeFileSync(file, String(raw.secretsPassphrase), { mode: 0o600 });
    return { value: String(raw.secretsPassphrase), file };
  }
  const file = join(dataDir, 'passphrase');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  return { value: readFileSync(file, 'utf8').trim(), file };
}
