// The composition root: config → database → engine → domain → app. server.ts runs it;
// integration tests start it with their own config, against the real engine and databases.
import { access as fileAccess, constants } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { toolchainPaths } from '../toolchain/versions.mjs';
import { buildApp } from './app.js';
import { AccessService } from './auth/access-service.js';
import type { Config } from './config.js';
import { pulumiEnv } from './engine/pulumi-env.js';
import { PulumiEngine } from './engine/pulumi-engine.js';
import type { Engine } from './engine/types.js';
import { EnvironmentCatalog } from './environments/environment-catalog.js';
import { EnvironmentService } from './environments/environment-service.js';
import { OperationQueue, newOwnerId } from './operations/operation-queue.js';
import { OperationRunner } from './operations/operation-runner.js';
import { OperationService } from './operations/operation-service.js';
import { OperationSignals } from './operations/operation-signals.js';
import { openDatabase, type OpenDatabase } from './store/database.js';
import { OperationStore } from './store/operation-store.js';

export interface Service {
  app: FastifyInstance;
  access: AccessService;
  engine: Engine;
  store: OperationStore;
  queue: OperationQueue;
  database: OpenDatabase;
  /** Stops taking work, drains running operations, closes the app and the database. */
  stop(graceMs?: number): Promise<void>;
}

export async function startService(config: Config, logger: Logger): Promise<Service> {
  const catalog = EnvironmentCatalog.load(config.projectDir);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const store = new OperationStore(database.db);
  const toolchain = toolchainPaths();
  const engine = new PulumiEngine({
    projectDir: config.projectDir,
    toolchainRoot: toolchain.root,
    env: pulumiEnv({
      backendUrl: config.stateBackendUrl,
      passphrase: config.secretsPassphrase,
      toolchain,
      path: config.path,
      extra: config.kubeconfig ? { KUBECONFIG: config.kubeconfig } : {},
    }),
  });
  await prepareBackend(config.stateBackendUrl);
  await engine.init(catalog.names);
  logger.info({ environments: catalog.names, pulumi: engine.version, database: database.dialect }, 'engine ready');

  const signals = new OperationSignals();
  const owner = newOwnerId();
  const leaseMs = config.leaseSeconds * 1000;
  const runner = new OperationRunner(store, engine, signals, { owner, leaseMs });
  const queue = new OperationQueue(owner, store, engine, runner, signals, logger.child({ component: 'queue' }), {
    environments: catalog.names, maxParallel: config.maxParallelOperations, leaseMs, pollMs: config.pollMilliseconds,
  });
  const operations = new OperationService(store, catalog, signals, { pollMs: config.pollMilliseconds, onEnqueued: () => queue.kick() });
  const access = new AccessService(database.db, database.dialect, {
    passphrase: config.secretsPassphrase,
    bootstrapAdminKey: config.bootstrapAdminKey,
    oidcIssuers: config.oidcIssuers,
    session: { lifetimeSeconds: config.sessionLifetimeSeconds, idleSeconds: config.sessionIdleSeconds },
    lockout: { maxFailures: config.lockoutMaxFailures, windowSeconds: config.lockoutWindowSeconds },
  });
  await access.bootstrap();
  await access.requireSomeCredential().catch((error: Error) =>
    logger.error(`refusing to serve the API: ${error.message}`)); // fail closed, and say why
  const app = await buildApp({
    environments: new EnvironmentService(catalog, store),
    operations,
    access,
    rateLimit: { max: config.rateLimitPerMinute, windowSeconds: 60 },
    checks: {
      database: async () => (await store.ping(), true),
      toolchain: async () => (await fileAccess(join(toolchain.bin, 'pulumi'), constants.X_OK), true),
      stateBackend: () => engine.reachable(),
    },
  }, logger);
  queue.start();

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = config.shutdownGraceSeconds * 1000) => (stopping ??= (async () => {
    await queue.drain(graceMs);
    await app.close();
    await database.close();
  })());
  return { app, access, engine, store, queue, database, stop };
}

/** A file:// backend's folder must exist before the CLI logs into it. */
async function prepareBackend(url: string): Promise<void> {
  if (!url.startsWith('file://')) return;
  const { mkdir } = await import('node:fs/promises');
  await mkdir(new URL(url).pathname, { recursive: true, mode: 0o700 });
}
