// The composition root: config → database → engine → domain → app. server.ts runs it;
// integration tests start it with their own config, against the real engine and databases.
import { access as fileAccess, constants, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { toolchainPaths } from '../toolchain/versions.mjs';
import { AccessService } from './auth/access-service.js';
import { ApiKeys } from './auth/api-keys.js';
import { AuditAnchors } from './auth/audit-anchors.js';
import { AuditTrail } from './auth/audit-trail.js';
import { Authenticator } from './auth/authenticator.js';
import { CredentialCache } from './auth/credential-cache.js';
import { Governance } from './auth/governance.js';
import { Lockout } from './auth/lockout.js';
import { OidcVerifier } from './auth/oidc.js';
import { SecretBox } from './auth/secret-box.js';
import { Sessions } from './auth/sessions.js';
import { Totp } from './auth/totp.js';
import type { Config } from './config.js';
import { backendForEngine } from './engine/backend-credentials.js';
import { pulumiEnv } from './engine/pulumi-env.js';
import { PulumiEngine } from './engine/pulumi-engine.js';
import type { Engine } from './engine/types.js';
import { EnvironmentCatalog } from './environments/environment-catalog.js';
import { EnvironmentStatusView } from './environments/environment-status.js';
import { buildApp } from './http/app.js';
import { createIntegrations, type Integrations } from './integrations.js';
import { Readiness } from './http/readiness.js';
import { OutboxDispatcher } from './notifications/outbox-dispatcher.js';
import { OutboxFeed } from './notifications/outbox-feed.js';
import { OperationQueue, newOwnerId } from './operations/operation-queue.js';
import { OperationRunner } from './operations/operation-runner.js';
import { OperationService } from './operations/operation-service.js';
import { OperationSignals } from './operations/operation-signals.js';
import { Recovery } from './operations/recovery.js';
import { ApiKeyRepository } from './store/api-key-repository.js';
import { AuditRepository } from './store/audit-repository.js';
import { AuthFailureRepository } from './store/auth-failure-repository.js';
import { openDatabase, type OpenDatabase } from './store/database.js';
import { EventLog } from './store/event-log.js';
import { LeaseRepository } from './store/lease-repository.js';
import { OperationRepository } from './store/operation-repository.js';
import { OUTBOX_CHANNEL, OutboxRepository } from './store/outbox-repository.js';
import { PgListener } from './store/pg-listener.js';
import { CredentialsVersion } from './store/credentials-version.js';
import { databaseRateLimitStore } from './store/rate-limit-store.js';
import { SessionRepository } from './store/session-repository.js';
import { StackRepository } from './store/stack-repository.js';
import { TotpRepository } from './store/totp-repository.js';
import { ConfigVersionRepository } from './store/config-version-repository.js';
import { ReleaseRepository } from './store/release-repository.js';
import { ReleaseSteps } from './operations/release-steps.js';
import { Approvals } from './releases/approvals.js';
import { ConfigVersions } from './releases/config-versions.js';
import { ProgramSnapshots } from './releases/program-snapshots.js';
import { Promotions } from './releases/promotions.js';
import { ReleasePolicy } from './releases/release-policy.js';
import { Releases } from './releases/releases.js';
import { Rollbacks } from './releases/rollbacks.js';
import { StateSteps } from './operations/state-steps.js';
import { RestoreRequests } from './recovery/restore-requests.js';
import { Restores } from './recovery/restores.js';
import { StateBackups } from './recovery/state-backups.js';
import { BackupRepository } from './store/backup-repository.js';
import { DriftChecks } from './recovery/drift-checks.js';
import { DriftRepository } from './store/drift-repository.js';
import { RepairSessions } from './recovery/repair-sessions.js';
import { RepairRepository } from './store/repair-repository.js';
import { MaintenanceCalendar } from './calendar/maintenance-calendar.js';
import { MaintenanceNotices } from './calendar/maintenance-notices.js';
import { CalendarRepository } from './store/calendar-repository.js';
import { HealthCheckRepository } from './store/health-check-repository.js';
import { VerificationRepository } from './store/verification-repository.js';
import { CloudWatchAlarmStates } from './verification/cloudwatch-alarms.js';
import { HealthChecks } from './verification/health-checks.js';
import { Verifier } from './verification/verifier.js';

/** Wakes event streams on every replica when a batch of an operation's events lands. */
const EVENTS_CHANNEL = 'stackpilot_events';

/** How often the verifier looks for measurements due (the shortest interval a check has is 2 s). */
const VERIFIER_TICK_MS = 1000;

/** How often the audit trail's head is written outside its database. */
const AUDIT_ANCHOR_MS = 60_000;

/** Start-up failed for a reason the operator can fix; its message says how, in one line. */
export class StartupError extends Error {}

export interface Service {
  app: FastifyInstance;
  access: AccessService;
  audit: AuditTrail;
  engine: Engine;
  database: OpenDatabase;
  queue: OperationQueue;
  operations: OperationService;
  repositories: { operations: OperationRepository; leases: LeaseRepository; eventLog: EventLog; outbox: OutboxRepository };
  dispatcher: OutboxDispatcher;
  releases: { versions: ConfigVersions; approvals: Approvals; releases: Releases; policy: ReleasePolicy };
  /** Webhooks, Slack ChatOps and metrics. */
  integrations: Integrations;
  recovery: { backups: StateBackups; drift: DriftChecks };
  /** Maintenance windows and their advance notices. */
  calendar: MaintenanceCalendar;
  verification: { healthChecks: HealthChecks; verifier: Verifier };
  /** Stops taking work, drains running operations, closes the app and the database. */
  stop(graceMs?: number): Promise<void>;
}

export async function startService(config: Config, logger: Logger): Promise<Service> {
  const catalog = EnvironmentCatalog.load(config.projectDir);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl, dataDir: config.dataDir, idleTransactionTimeoutMs: config.leaseSeconds * 1000,
  }).catch((error: Error) => {
    throw new StartupError(`cannot open the database: ${error.message.split('\n')[0]} (check DATABASE_URL, or STACKPILOT_DATA_DIR for SQLite)`);
  });
  const { db, dialect } = database;
  const outbox = new OutboxRepository(db, dialect);
  const operationRows = new OperationRepository(db, outbox, { gatherReads: dialect === 'sqlite' });
  const leases = new LeaseRepository(db, dialect, operationRows);
  const eventLog = new EventLog(db);

  const toolchain = toolchainPaths({ STACKPILOT_CACHE_DIR: config.cacheDir, ...(config.toolchainDir ? { STACKPILOT_TOOLCHAIN_DIR: config.toolchainDir } : {}) });
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const backend = backendForEngine(config.stateBackendUrl, config.dataDir);
  const engine = new PulumiEngine({
    projectDir: config.projectDir,
    workspaceRoot: join(config.dataDir, 'workspaces'),
    toolchainRoot: toolchain.root,
    backendUrl: config.stateBackendUrl,
    salts: new StackRepository(db),
    tracesDir: config.engineTracesDir,
    residentHosts: config.engineResidentHosts,
    onProblem: (message) => logger.warn(message),
    env: pulumiEnv({
      backendUrl: backend.url,
      passphraseFile: config.secretsPassphraseFile,
      toolchain,
      path: config.path,
      extra: {
        ...backend.env, ...(config.kubeconfig ? { KUBECONFIG: config.kubeconfig } : {}),
        ...(config.engineCompileCache ? { NODE_COMPILE_CACHE: join(config.dataDir, 'node-compile-cache') } : {}),
      },
    }),
  });
  await prepareBackend(config.stateBackendUrl);
  await mkdir(join(config.dataDir, 'spool'), { recursive: true, mode: 0o700 });
  if (config.engineTracesDir) await mkdir(config.engineTracesDir, { recursive: true, mode: 0o700 });
  await engine.init(catalog.names).catch(async (error: Error) => {
    await database.close();
    throw new StartupError(`cannot prepare the stacks: ${error.message.split('\n')[0]}`);
  });
  logger.info({ environments: catalog.names, pulumi: engine.version, database: dialect }, 'engine ready');

  const audit = new AuditTrail(new AuditRepository(db, dialect), config.secretsPassphrase, new AuditAnchors(join(config.dataDir, 'audit-anchors.jsonl'), logger));
  const governance = new Governance(db, audit);
  const keys = new ApiKeys(new ApiKeyRepository(db));
  const sessions = new Sessions(new SessionRepository(db), { lifetimeSeconds: config.sessionLifetimeSeconds, idleSeconds: config.sessionIdleSeconds });
  const oidc = new OidcVerifier(config.oidcIssuers, config.oidcMaxTokenAgeSeconds);
  const lockout = new Lockout(new AuthFailureRepository(db), { maxFailures: config.lockoutMaxFailures, windowSeconds: config.lockoutWindowSeconds });
  const authenticator = new Authenticator(keys, sessions, oidc, lockout, new CredentialCache(new CredentialsVersion(db)));
  const access = new AccessService(governance, keys, new Totp(new TotpRepository(db), new SecretBox(config.secretsPassphrase)), sessions, oidc, lockout, {
    session: { lifetimeSeconds: config.sessionLifetimeSeconds, idleSeconds: config.sessionIdleSeconds },
    bootstrapAdminKey: config.bootstrapAdminKey,
    environments: catalog.names,
  });
  await access.bootstrap();
  await access.requireSomeCredential().catch((error: Error) =>
    logger.error(`refusing to serve the API: ${error.message}`)); // fail closed, and say why

  const signals = new OperationSignals();
  const policy = new ReleasePolicy(config, catalog.names);
  const versionRows = new ConfigVersionRepository(db);
  const versions = new ConfigVersions(db, logger.child({ component: 'config' }), versionRows, catalog, engine, governance, outbox);
  for (const environment of catalog.names) await versions.importFile(environment);
  const programs = new ProgramSnapshots(config.projectDir, join(config.dataDir, 'programs'), { bundles: config.programBundles });
  warmProgram(programs, logger);
  const releaseRows = new ReleaseRepository(db);
  const releases = new Releases(releaseRows, versionRows, catalog, governance, outbox);
  const verifications = new VerificationRepository(db, dialect);
  const healthChecks = new HealthChecks(new HealthCheckRepository(db), verifications, releaseRows, catalog, governance, outbox, config.prometheusUrl);
  const steps = new ReleaseSteps({ versions, programs, releases, policy, outbox, healthChecks, plansDir: join(config.dataDir, 'plans') }, operationRows, engine);
  const owner = newOwnerId();
  const leaseMs = config.leaseSeconds * 1000;
  const listener = database.pool && config.databaseUrl ? new PgListener(config.databaseUrl, [OUTBOX_CHANNEL, EVENTS_CHANNEL], database.pool) : undefined;
  const backups = new StateBackups(new BackupRepository(db), engine, catalog, governance, logger.child({ component: 'backups' }), {
    dir: config.backupDir!, keepLast: config.backupKeepLast, keepDays: config.backupKeepDays,
  });
  const restores = new Restores(backups, engine, catalog, outbox);
  let driftChecks: DriftChecks | undefined;
  const calendars = new CalendarRepository(db);
  const notices = new MaintenanceNotices(db, calendars, operationRows, governance, outbox);
  const calendar = new MaintenanceCalendar(calendars, operationRows, catalog, governance, notices, () => queue.kick());
  const runner = new OperationRunner(operationRows, leases, eventLog, engine, catalog, signals, steps, {
    owner, leaseMs, debugEvents: config.engineDebugEvents, spoolDir: join(config.dataDir, 'spool'),
    announce: listener ? (id) => void listener.notify(EVENTS_CHANNEL, id).catch(() => undefined) : undefined,
    ended: (tx, operation) => notices.ended(tx, operation),
  }, new StateSteps(backups, restores, () => driftChecks!));
  const recovery = new Recovery(leases, operationRows, engine, governance, signals, logger.child({ component: 'recovery' }), {
    owner, leaseMs, cliGraceMs: leaseMs, ended: (tx, operation) => notices.ended(tx, operation),
  });
  let approvals: Approvals | undefined;
  const queue = new OperationQueue(owner, leases, runner, recovery, signals, logger.child({ component: 'queue' }), {
    environments: catalog.names, maxParallel: config.maxParallelOperations, leaseMs, pollMs: config.pollMilliseconds,
    housekeeping: async () => {
      await approvals!.sweep();
      await driftChecks!.sweep();
      await calendar.sweep();
    },
    shut: () => calendar.shut(),
  });
  approvals = new Approvals(operationRows, governance, policy, outbox, signals, () => queue.kick());
  const operations = new OperationService(governance, operationRows, eventLog, catalog, signals, versions, programs, calendar, {
    pollMs: config.pollMilliseconds, onEnqueued: () => queue.kick(),
    maxStreamsPerPrincipal: config.maxStreamsPerPrincipal, revalidateMs: config.streamRecheckSeconds * 1000,
  });
  const promotions = new Promotions(releases, versions, operations, catalog, governance, policy, (environment) => healthChecks.required(environment));
  const rollbacks = new Rollbacks(releases, versions, programs, operations, catalog, governance, policy, outbox);
  const verifier = new Verifier({
    db, verifications, releases: releaseRows, rollbacks, versions, catalog, engine, governance, outbox, alarms: new CloudWatchAlarmStates(),
  }, { owner, leaseMs, tickMs: VERIFIER_TICK_MS, kubeconfig: config.kubeconfig, prometheusUrl: config.prometheusUrl }, logger.child({ component: 'verifier' }));
  const repairs = new RepairSessions(new RepairRepository(db), operationRows, backups, engine, catalog, governance, {
    idleMs: config.repairIdleSeconds * 1000, kick: () => queue.kick(),
    source: async (environment) => {
      const latest = await versions.latest(environment);
      // Repairs never start the program: they run even when it does not compile.
      return { ...programs.runnable(programs.current(), { runsProgram: false }), config: latest.config, ...(latest.encryptionSalt ? { encryptionSalt: latest.encryptionSalt } : {}) };
    },
  });
  const restoreRequests = new RestoreRequests(backups, restores, catalog, governance, operations, versions, programs, repairs);
  driftChecks = new DriftChecks(db, new DriftRepository(db), catalog, governance, operations, versions, programs, outbox);

  // What other replicas do reaches this one through the outbox: waiters wake, the queue looks for work.
  const feed = new OutboxFeed(outbox, logger.child({ component: 'outbox' }), config.pollMilliseconds);
  const dispatcher = new OutboxDispatcher(outbox, logger.child({ component: 'dispatcher' }), { owner, leaseMs, pollMs: config.pollMilliseconds });
  feed.subscribe((event) => {
    if (event.operationId) signals.notify(event.operationId);
    if (event.kind === 'operation.queued' || event.kind === 'operation.finished') queue.kick();
    dispatcher.dispatch();
  });
  listener?.on(OUTBOX_CHANNEL, () => feed.read());
  listener?.on('reconnected', () => feed.read());
  listener?.on(EVENTS_CHANNEL, (operationId: string) => signals.notify(operationId));
  await listener?.start();
  await feed.start();

  const readiness = new Readiness({
    database: async () => (await operationRows.latest('-'), true),
    toolchain: async () => (await fileAccess(join(toolchain.bin, 'pulumi'), constants.X_OK), true),
    stateBackend: () => engine.reachable(),
  });
  const environments = new EnvironmentStatusView(catalog, operationRows, engine, governance, releases, driftChecks);
  const integrations = createIntegrations(config, {
    db, dialect, governance, audit, catalog, operations, environments, dispatcher, owner, engineRuns: () => engine.runs,
    releases: {
      promote: (actor, env) => promotions.promote(actor, env, { message: 'promoted from Slack' }),
      rollback: (actor, env) => rollbacks.rollback(actor, env, { release: 'previous', message: 'rolled back from Slack' }),
      decide: (actor, id, decision, comment) => approvals!.decide(actor, id, decision, comment),
      deployWithConfig: async (actor, env, set) => (await operations.enqueue(actor, env, { type: 'update', scope: 'all', config: { set } })).operation,
    },
  }, logger);
  const app = await buildApp({
    environments, integrations, releases: { versions, releases, approvals, promotions, rollbacks },
    operations, access, authenticator, audit, readiness,
    recovery: { backups, restores: restoreRequests, drift: driftChecks, repairs },
    calendar,
    verification: { healthChecks },
    rateLimit: { max: config.rateLimitPerMinute, maxPerSource: config.rateLimitPerSourcePerMinute, windowSeconds: 60, store: dialect === 'postgres' ? databaseRateLimitStore(db) : undefined },
  }, logger, {
    tls: config.tlsCert && config.tlsKey ? { cert: config.tlsCert, key: config.tlsKey } : undefined,
    timeouts: { requestMs: config.requestTimeoutSeconds * 1000, headersMs: Math.min(config.headersTimeoutSeconds, config.requestTimeoutSeconds) * 1000 },
  });
  await integrations.start().catch(async (error: Error) => {
    await app.close();
    await database.close();
    throw new StartupError(`cannot start the integrations: ${error.message.split('\n')[0]} (is STACKPILOT_METRICS_PORT taken?)`);
  });
  queue.start();
  verifier.start();
  dispatcher.start();
  readiness.start();
  const anchoring = setInterval(() => void audit.anchor().catch((error) => logger.warn({ err: error }, 'could not anchor the audit trail')), AUDIT_ANCHOR_MS);
  anchoring.unref();

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = config.shutdownGraceSeconds * 1000) => (stopping ??= (async () => {
    await queue.drain(graceMs);
    engine.close();
    await verifier.stop();
    clearInterval(anchoring);
    await audit.anchor().catch(() => undefined);
    await dispatcher.stop();
    await integrations.stop();
    feed.stop();
    readiness.stop();
    await listener?.close();
    await app.close();
    await database.close();
  })());
  return {
    app, access, audit, engine, database, queue, operations, dispatcher, integrations, stop,
    releases: { versions, approvals, releases, policy },
    recovery: { backups, drift: driftChecks },
    calendar,
    verification: { healthChecks, verifier },
    repositories: { operations: operationRows, leases, eventLog, outbox },
  };
}

/**
 * Keeps (and, with bundles on, compiles) the project's program at start-up, so the first
 * operation does not wait for it; a program that does not compile is reported here and
 * refused when an operation would run it.
 */
function warmProgram(programs: ProgramSnapshots, logger: Logger): void {
  try {
    const problem = programs.buildProblem(programs.current());
    if (problem) logger.warn({ errors: problem.errors }, problem.message);
  } catch (error) {
    logger.warn({ err: error }, 'the project\'s program could not be kept as a snapshot at start-up');
  }
}

/** A file:// backend's folder must exist before the CLI logs into it. */
async function prepareBackend(url: string): Promise<void> {
  if (!url.startsWith('file://')) return;
  await mkdir(new URL(url).pathname, { recursive: true, mode: 0o700 });
}
