// Starts the real service for a test: a private copy of a fixture project, its own data dir,
// file:// state backend and database (SQLite or a fresh PostgreSQL database), and a log that
// the test can search. The engine, the CLI and the databases are all real.
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { PassThrough } from 'node:stream';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService, type Service } from '../../src/service.js';
import { adminSession, newKeyToken } from './credentials.js';
import { createPostgresDatabase, type TestDatabase } from './databases.js';
import { TEST_PASSPHRASE, copyProgram, copyProject, type TempProgram } from './programs.js';

export { TEST_PASSPHRASE } from './programs.js';

export interface TestService extends Service {
  program: TempProgram;
  config: Config;
  logs: string[];
  /** The bootstrap admin API key (no second factor: may operate, not destroy or administer). */
  adminKey: string;
  /** An admin session (key + TOTP): may do everything. */
  adminSession: string;
  totpSecret: string;
  /** The one-time code that opened adminSession: never accepted again. */
  usedCode: string;
  /** app.inject with the admin session's credential, unless the request brings its own. */
  inject(options: InjectOptions | string): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function startTestService(options: {
  /** A fixture under test/fixtures/programs, or 'project' for the repository's own program. */
  fixture?: string;
  database: 'sqlite' | 'postgres';
  config?: Partial<Config>;
  prepare?: (program: TempProgram) => Promise<void> | void;
}): Promise<TestService> {
  const adminKey = newKeyToken();
  const program = options.fixture === 'project' ? copyProject() : copyProgram(options.fixture ?? 'service-project');
  await options.prepare?.(program);
  let database: TestDatabase | undefined;
  if (options.database === 'postgres') database = await createPostgresDatabase();
  const config = loadConfig({ PATH: process.env.PATH }, {
    dataDir: `${program.dir}/../data`,
    projectDir: program.dir,
    stateBackendUrl: program.backendUrl,
    secretsPassphrase: TEST_PASSPHRASE,
    databaseUrl: database?.url,
    bootstrapAdminKey: adminKey,
    rateLimitPerMinute: 100_000,
    rateLimitPerSourcePerMinute: 100_000,
    logLevel: 'debug',
    pollMilliseconds: 200,
    leaseSeconds: 10,
    // No approvals unless a test asks for them (approvals.test.ts, releases.test.ts do).
    protectedEnvironments: [],
    // A prebuilt toolchain, when the run names one (as the container image does).
    ...(process.env.STACKPILOT_TOOLCHAIN_DIR ? { toolchainDir: process.env.STACKPILOT_TOOLCHAIN_DIR } : {}),
    metricsPort: 0, // test files run side by side: each service's metrics listener on a free port
    ...options.config,
  });
  const logs: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => logs.push(...chunk.toString().split('\n').filter(Boolean)));
  const service = await startService(config, createLogger(config.logLevel, sink));
  const session = await adminSession(service.app, adminKey);
  return {
    ...service,
    program,
    config,
    logs,
    adminKey,
    adminSession: session.token,
    totpSecret: session.totpSecret,
    usedCode: session.usedCode,
    inject(request) {
      const opts = typeof request === 'string' ? { url: request } : request;
      return service.app.inject({ ...opts, headers: { authorization: `Bearer ${session.token}`, ...opts.headers } });
    },
    async close() {
      await service.stop(1000);
      await database?.drop();
      program.remove();
    },
  };
}
