// Nothing is lost when a process dies mid-operation: killed with SIGKILL together with its
// engine, the next process marks the operation interrupted once its lease expires, clears the
// stale Pulumi lock, runs what was queued behind it, and reports the pending operations the
// dead engine left in the state.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineProcesses } from '../../src/engine/engine-processes.js';
import { DATABASES, createPostgresDatabase, type TestDatabase } from '../support/databases.js';
import { copyProgram, type TempProgram } from '../support/programs.js';
import { api, spawnService, type ServiceProcess } from '../support/process.js';
import { TEST_PASSPHRASE } from '../support/service.js';
import { setConfig } from '../support/stack-config.js';
import { parseSse } from '../support/sse.js';

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
      for (let i = 0; (await api(service, `/v1/operations/${id}`)).json().status !== 'running'; i++) {
        if (i > 100) throw new Error('never started');
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 2000));
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

  it('recovers an operation whose process was killed', async () => {
    const first = await spawnService(env);
    processes.push(first);
    const { id } = (await api(first, '/v1/environments/development/operations', { method: 'POST', body: { type: 'update' } })).json();
    const queuedBehind = (await api(first, '/v1/environments/development/operations', { method: 'POST', body: { type: 'refresh' } })).json();
    for (let i = 0; (await api(first, `/v1/operations/${id}`)).json().status !== 'running'; i++) {
      if (i > 100) throw new Error('never started');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 3000)); // the engine holds the stack lock now
    await first.kill('SIGKILL');

    const second = await spawnService({ ...env, STACKPILOT_BOOTSTRAP_ADMIN_KEY: first.key });
    processes.push(second);
    const ended = (await api(second, `/v1/operations/${id}?wait=30`)).json();
    expect(ended).toMatchObject({ status: 'interrupted', error: expect.stringContaining('stopped before it finished') });
    const events = parseSse((await api(second, `/v1/operations/${id}/events`)).body);
    expect(events.at(-1)).toMatchObject({ event: 'result', data: expect.stringContaining('"interrupted"') });

    // The operation queued behind it survived the crash and runs on the stack, unlocked.
    expect((await api(second, `/v1/operations/${queuedBehind.id}?wait=60`)).json()).toMatchObject({ status: 'succeeded' });
    const log = second.logs.join('\n');
    expect(log).toContain('cleared the stale stack lock');
    // No process of the killed operation is left: our language host exits when its engine
    // dies and takes the program with it; any orphan left would have been ended by recovery.
    expect(engineProcesses(id)).toEqual([]);
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
