// Nothing is lost when a process dies mid-operation. Once its lease expires, the next process
// fences the operation (recovering: it keeps the stack), stops the dead runner's engine (asking
// an orphaned CLI to stop, or clearing the lock a dead CLI left), and only then marks it
// interrupted; what was queued behind it runs with no `locked` failure, and the next operation
// reports the pending operations the dead engine left in the state.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineProcesses } from '../../src/engine/engine-processes.js';
import { openDatabase } from '../../src/store/database.js';
import { DATABASES, createPostgresDatabase, type TestDatabase } from '../support/databases.js';
import { copyProgram, type TempProgram } from '../support/programs.js';
import { api, spawnService, type ServiceProcess } from '../support/process.js';
import { TEST_PASSPHRASE } from '../support/service.js';
import { setConfig, setFileConfig } from '../support/stack-config.js';
import { parseSse } from '../support/sse.js';
import { waitFor } from '../support/wait.js';

/** Waits until the state backend holds a lock on the stack: the engine is running its program. */
function untilLocked(service: ServiceProcess, environment: string) {
  return waitFor(`the engine to lock ${environment}`, async () => (await api(service, `/v1/environments/${environment}`)).json().locks?.length > 0);
}

/** The settings every process of one test shares: same project, data, state and database. */
function serviceEnv(program: TempProgram, database: TestDatabase | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return {
    STACKPILOT_PROJECT_DIR: program.dir,
    STACKPILOT_DATA_DIR: join(program.dir, '..', 'data'),
    STACKPILOT_STATE_BACKEND: program.backendUrl,
    STACKPILOT_SECRETS_PASSPHRASE: TEST_PASSPHRASE,
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...extra,
  };
}

describe.each(DATABASES)('graceful shutdown on %s', (kind) => {
  it('on SIGTERM waits the grace period, then cancels the running operation and leaves no engine process', async () => {
    const program = copyProgram('service-project');
    const database = kind === 'postgres' ? await createPostgresDatabase() : undefined;
    await setConfig(program, 'testing', 'sleepMs', '30000');
    const service = await spawnService(serviceEnv(program, database, { STACKPILOT_SHUTDOWN_GRACE_SECONDS: '2' }));
    try {
      const { id } = (await api(service, '/v1/environments/testing/operations', { method: 'POST', body: { type: 'update' } })).json();
      await untilLocked(service, 'testing');
      const exited = new Promise<number | null>((resolve) => service.child.once('exit', resolve));
      service.child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(service.logs.join('\n')).toContain('grace period over: cancelling running operations');
      expect(engineProcesses(id)).toEqual([]);

      // The next process sees the operation cancelled, not interrupted: it ended cleanly.
      const next = await spawnService(serviceEnv(program, database, { STACKPILOT_BOOTSTRAP_ADMIN_KEY: service.key }));
      try {
        expect((await api(next, `/v1/operations/${id}`)).json()).toMatchObject({ status: 'cancelled' });
      } finally {
        await next.kill('SIGTERM');
      }
    } finally {
      await service.kill('SIGKILL');
      await database?.drop();
      program.remove();
    }
  });
});

describe.each(DATABASES)('crash recovery on %s', (kind) => {
  let program: TempProgram;
  let database: TestDatabase | undefined;
  let env: Record<string, string>;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    program = copyProgram('service-project');
    database = kind === 'postgres' ? await createPostgresDatabase() : undefined;
    await setConfig(program, 'development', 'sleepMs', '30000');
    env = serviceEnv(program, database, { STACKPILOT_LEASE_SECONDS: '5', STACKPILOT_POLL_MS: '200' });
  });
  afterAll(async () => {
    for (const p of processes) await p.kill('SIGKILL');
    await database?.drop();
    program?.remove();
  });

  /** Starts an update with a refresh queued behind it, and waits until its engine holds the stack. */
  async function startUpdate(service: ServiceProcess) {
    setFileConfig(program, 'development', 'sleepMs', '30000');
    const { id } = (await api(service, '/v1/environments/development/operations', { method: 'POST', body: { type: 'update' } })).json();
    // The update behind it runs the program without the wait: an operation runs the
    // configuration version it was queued with, and the stack file is brought in as one then.
    setFileConfig(program, 'development', 'sleepMs', '0');
    const behind = (await api(service, '/v1/environments/development/operations', { method: 'POST', body: { type: 'update', message: 'queued behind' } })).json();
    await untilLocked(service, 'development');
    return { id, behindId: behind.id as string, engine: engineProcesses(id) };
  }

  /** What every recovery leaves: the operation interrupted, its stream ended, no process of it, the queue going on, and a record. */
  async function expectRecovered(service: ServiceProcess, id: string, behindId: string) {
    const ended = (await api(service, `/v1/operations/${id}?wait=45`)).json();
    expect(ended).toMatchObject({ status: 'interrupted', errorCode: 'interrupted', error: expect.stringContaining('stopped before it finished') });
    const events = parseSse((await api(service, `/v1/operations/${id}/events`)).body);
    expect(events.at(-1)).toMatchObject({ event: 'result', data: expect.stringContaining('"interrupted"') });
    // The operation queued behind it runs on the stack, with no `locked` failure.
    const behind = (await api(service, `/v1/operations/${behindId}?wait=60`)).json();
    expect(behind, behind.error).toMatchObject({ status: 'succeeded' });
    expect(engineProcesses(id)).toEqual([]);
    // Recovery acted as a principal of its own, on record.
    const db = await openDatabase({ databaseUrl: database?.url, dataDir: env.STACKPILOT_DATA_DIR! });
    const audited = await db.db.selectFrom('audit_log').select(['principal', 'target']).where('action', '=', 'recoverOperation').execute();
    await db.close();
    expect(audited).toContainEqual({ principal: 'system:recovery', target: `operation:${id}` });
  }

  it('fences an operation whose runner stopped renewing while its engine still ran: the CLI is asked to stop, and the runner, back, stops its engine and writes nothing', async () => {
    const first = await spawnService(env);
    processes.push(first);
    const { id, behindId, engine } = await startUpdate(first);
    expect(engine.map((p) => p.command)).toContain('pulumi');
    process.kill(first.child.pid!, 'SIGSTOP'); // frozen: it renews nothing; its engine, in groups of its own, runs on

    const second = await spawnService({ ...env, STACKPILOT_BOOTSTRAP_ADMIN_KEY: first.key });
    processes.push(second);
    await expectRecovered(second, id, behindId);
    expect(second.logs.join('\n')).toContain("the interrupted operation's CLI still runs: asking it to stop");

    // The frozen runner, back, finds its lease lost: it stops and leaves the operation as recovery ended it.
    process.kill(first.child.pid!, 'SIGCONT');
    await waitFor('the first runner to notice its lost lease', () => first.logs.some((line) => line.includes('lease lost')));
    await waitFor('the first runner to end', () => first.logs.some((line) => line.includes('the process that fenced this operation ends it')));
    expect((await api(second, `/v1/operations/${id}`)).json().status).toBe('interrupted');
    await first.kill('SIGKILL');
    await second.kill('SIGTERM');
  });

  it('lets the other replica recover an operation whose process and engine were both killed: the lock the dead CLI left is cleared', async () => {
    const first = await spawnService(env);
    processes.push(first);
    const { id, behindId, engine } = await startUpdate(first);
    // The other replica starts once the first holds the operation (else it could claim it itself).
    const second = await spawnService({ ...env, STACKPILOT_BOOTSTRAP_ADMIN_KEY: first.key });
    processes.push(second);
    await first.kill('SIGKILL');
    for (const p of engine) {
      try {
        process.kill(p.pid, 'SIGKILL'); // the engine runs in process groups of its own
      } catch {
        // already gone with its CLI
      }
    }
    await expectRecovered(second, id, behindId);
    expect(second.logs.join('\n')).toContain('cleared the stale stack lock');
  });

  it('reports pending operations a dead engine left in the state', async () => {
    // Make the state look as an engine killed mid-create leaves it (the fixture's components
    // finish too fast to catch in flight). `pulumi stack import` drops pending operations, so
    // the checkpoint file of the file:// backend is edited as the dying engine would leave it.
    const checkpoint = join(new URL(program.backendUrl).pathname, '.pulumi', 'stacks', 'fixture-project', 'development.json');
    const state = JSON.parse(readFileSync(checkpoint, 'utf8'));
    const latest = state.checkpoint.latest;
    const victim = latest.resources.find((r: { type: string }) => r.type === 'stackpilot:scope:Infrastructure');
    latest.pending_operations = [{ resource: victim, type: 'creating' }];
    writeFileSync(checkpoint, JSON.stringify(state));

    const service = processes.at(-1)!;
    const interrupted = (await api(service, '/v1/environments/development/operations?limit=5')).json().items
      .find((o: { status: string }) => o.status === 'interrupted');
    expect(interrupted).toBeDefined();
    // The last finished operation on the stack succeeded; a failing one makes the next look.
    await setConfig(program, 'development', 'sleepMs', 'not-a-number');
    const failed = (await api(service, '/v1/environments/development/operations', { method: 'POST', body: { type: 'preview' } })).json();
    expect((await api(service, `/v1/operations/${failed.id}?wait=60`)).json().status).toBe('failed');
    await setConfig(program, 'development', 'sleepMs', '0');
    const next = (await api(service, '/v1/environments/development/operations', { method: 'POST', body: { type: 'preview' } })).json();
    const done = (await api(service, `/v1/operations/${next.id}?wait=60`)).json();
    expect(done.warnings).toEqual([expect.stringMatching(/pending creating on urn:pulumi:development::fixture-project::stackpilot:scope:Infrastructure::infrastructure/)]);
  });
});
