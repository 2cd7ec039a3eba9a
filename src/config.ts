// Every setting, read once from the environment, checked against one schema, frozen.
// An invalid configuration stops the process with one message listing every bad setting.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';

const repoDir = resolve(import.meta.dirname, '..');

const GrantSchema = Type.Object({
  role: Type.Enum(['viewer', 'deployer', 'admin']),
  environments: Type.Union([Type.Literal('*'), Type.Array(Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' }), { minItems: 1 })]),
}, { additionalProperties: false });

const OidcIssuerSchema = Type.Object({
  issuer: Type.String({ minLength: 1 }),
  audience: Type.String({ minLength: 1 }),
  jwksUri: Type.String({ pattern: '^https?://' }),
  rules: Type.Array(Type.Object({
    claims: Type.Record(Type.String(), Type.String()),
    grants: Type.Array(GrantSchema, { minItems: 1 }),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

const Settings = Type.Object({
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  dataDir: Type.String({ minLength: 1 }),
  /** The Pulumi project (Pulumi.yaml and its stackConfigDir) the service deploys. */
  projectDir: Type.String({ minLength: 1 }),
  databaseUrl: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  stateBackendUrl: Type.String({ pattern: '^(file|s3|postgres|postgresql|gs|azblob)://' }),
  secretsPassphrase: Type.String({ minLength: 8 }),
  kubeconfig: Type.Optional(Type.String({ minLength: 1 })),
  maxParallelOperations: Type.Integer({ minimum: 1, maximum: 64 }),
  leaseSeconds: Type.Integer({ minimum: 5, maximum: 3600 }),
  pollMilliseconds: Type.Integer({ minimum: 50, maximum: 60_000 }),
  shutdownGraceSeconds: Type.Integer({ minimum: 0, maximum: 3600 }),
  logLevel: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  /** An API key (sp_...) installed as an admin key at start-up, for automation. */
  bootstrapAdminKey: Type.Optional(Type.String({ pattern: '^sp_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$' })),
  /** Trusted OIDC issuers and the rules that map their tokens' claims to grants. */
  oidcIssuers: Type.Array(OidcIssuerSchema),
  sessionLifetimeSeconds: Type.Integer({ minimum: 60, maximum: 86_400 }),
  sessionIdleSeconds: Type.Integer({ minimum: 30, maximum: 86_400 }),
  rateLimitPerMinute: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  lockoutMaxFailures: Type.Integer({ minimum: 1, maximum: 10_000 }),
  lockoutWindowSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  /** The process's own PATH, handed on to the engine behind the toolchain's bin. */
  path: Type.String(),
}, { additionalProperties: false });

export type Config = Readonly<Static<typeof Settings>>;

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
  maxParallelOperations: ['STACKPILOT_MAX_PARALLEL', '4'],
  leaseSeconds: ['STACKPILOT_LEASE_SECONDS', '30'],
  pollMilliseconds: ['STACKPILOT_POLL_MS', '500'],
  shutdownGraceSeconds: ['STACKPILOT_SHUTDOWN_GRACE_SECONDS', '30'],
  logLevel: ['STACKPILOT_LOG_LEVEL', 'info'],
  bootstrapAdminKey: ['STACKPILOT_BOOTSTRAP_ADMIN_KEY', undefined],
  oidcIssuers: ['STACKPILOT_OIDC_ISSUERS', '[]'], // JSON: [{issuer, audience, jwksUri, rules: [{claims, grants}]}]
  sessionLifetimeSeconds: ['STACKPILOT_SESSION_LIFETIME_SECONDS', '900'],
  sessionIdleSeconds: ['STACKPILOT_SESSION_IDLE_SECONDS', '300'],
  rateLimitPerMinute: ['STACKPILOT_RATE_LIMIT_PER_MINUTE', '600'],
  lockoutMaxFailures: ['STACKPILOT_LOCKOUT_MAX_FAILURES', '10'],
  lockoutWindowSeconds: ['STACKPILOT_LOCKOUT_WINDOW_SECONDS', '600'],
} as const satisfies Record<Exclude<keyof Static<typeof Settings>, 'path'>, readonly [string, string | undefined]>;

/** Variables that carry secrets: removed from process.env once read, so no child inherits them. */
const SECRET_VARIABLES = ['DATABASE_URL', 'STACKPILOT_SECRETS_PASSPHRASE', 'STACKPILOT_STATE_BACKEND', 'STACKPILOT_BOOTSTRAP_ADMIN_KEY'];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}

const INTEGER_KEYS = new Set(['port', 'maxParallelOperations', 'leaseSeconds', 'pollMilliseconds', 'shutdownGraceSeconds',
  'sessionLifetimeSeconds', 'sessionIdleSeconds', 'rateLimitPerMinute', 'lockoutMaxFailures', 'lockoutWindowSeconds']);
const JSON_KEYS = new Set(['oidcIssuers']);

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const raw: Record<string, unknown> = { path: env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
  for (const [key, [name, fallback]] of Object.entries(VARIABLES)) {
    const value = env[name] ?? fallback;
    if (value === undefined) continue;
    raw[key] = INTEGER_KEYS.has(key) && /^-?\d+$/.test(value) ? Number(value) : JSON_KEYS.has(key) ? parseJson(value) : value;
  }
  Object.assign(raw, overrides);
  const dataDir = resolve(String(raw.dataDir));
  raw.dataDir = dataDir;
  raw.projectDir = resolve(String(raw.projectDir));
  raw.stateBackendUrl ??= `file://${join(dataDir, 'state')}`;

  const problems = [...Value.Errors(Settings, { ...raw, secretsPassphrase: raw.secretsPassphrase ?? 'placeholder' })]
    .map((e) => `${nameOf(e.instancePath)}: ${e.message}`);
  if (!existsSync(join(String(raw.projectDir), 'Pulumi.yaml'))) {
    problems.push(`STACKPILOT_PROJECT_DIR: no Pulumi.yaml in ${String(raw.projectDir)}`);
  }
  if (problems.length) throw new ConfigError(problems);

  raw.secretsPassphrase ??= embeddedPassphrase(dataDir);
  for (const name of SECRET_VARIABLES) if (env === process.env) delete process.env[name];
  return Object.freeze(raw as Static<typeof Settings>);
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value; // reported by the schema check, by variable name
  }
}

function nameOf(instancePath: string): string {
  const key = instancePath.replace(/^\//, '').split('/')[0] as keyof typeof VARIABLES;
  return VARIABLES[key]?.[0] ?? key;
}

/** The embedded default: a random passphrase made on first start and kept in the data dir (0600). */
function embeddedPassphrase(dataDir: string): string {
  const file = join(dataDir, 'passphrase');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  return readFileSync(file, 'utf8').trim();
}
