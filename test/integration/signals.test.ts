// Every way of stopping the service drains as documented: SIGTERM or SIGINT, to `npm start`,
// to the whole process group (systemd's default, a terminal's Ctrl-C), or twice to the server.
// A running operation gets the grace period, then one graceful cancel; its final status and
// result event are written; no process and no lock are left. The engine runs in process
// groups of its own, so a signal to the service's group never reaches it directly.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { engineProcesses } from '../../src/engine/engine-processes.js';
import { DATABASES, createPostgresDatabase, type TestDatabase } from '../support/databases.js';
import { newKeyToken } from '../support/credentials.js';
import { TEST_PASSPHRASE, copyProgram, repoDir, type TempProgram } from '../support/programs.js';
import { api, childrenOf, processGroup, spawnService, type ServiceProcess } from '../support/process.js';
import { setConfig } from '../support/stack-config.js';
import { parseSse } from '../support/sse.js';
import { waitFor } from '../support/wait.js';

type Target = 'npm' | 'group' | 'server twice';

const cases: Array<{ target: Target; signal: NodeJS.Signals; database: 'sqlite' | 'postgres' }> = [
  { target: 'npm', signal: 'SIGTERM', database: 'sqlite' },
  { target: 'group', signal: 'SIGTERM', database: 'sqlite' },
  { target: 'group', signal: 'SIGINT', database: 'sqlite' },
  { target: 'server twice', signal: 'SIGTERM', database: 'sqlite' },
  ...(DATABASES.includes('postgres') ? [{ target: 'npm' as const, signal: 'SIGTERM' as const, database: 'postgres' as const }] : []),
];

describe('stopping the service', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it.each(cases)('drains on $signal to $target ($database)', async ({ target, signal, database }) => {
    const program = copyProgram('service-project');
    const db: TestDatabase | undefined = database === 'postgres' ? await createPostgresDatabase() : undefined;
    cleanup.push(() => program.remove(), async () => db?.drop());
    await setConfig(program, 'testing', 'sleepMs', '30000');
    const key = newKeyToken();
    const env: Record<string, string> = {
      STACKPILOT_PROJECT_DIR: program.dir,
      STACKPILOT_DATA_DIR: join(program.dir, '..', 'data'),
      STACKPILOT_STATE_BACKEND: program.backendUrl,
      STACKPILOT_SECRETS_PASSPHRASE: TEST_PASSPHRASE,
      STACKPILOT_BOOTSTRAP_ADMIN_KEY: key,
      ...(db ? { DATABASE_URL: db.url } : {}),
    };
    const started = await npmStart(program, env);
    cleanup.push(() => { for (const pid of processGroup(started.pgid)) process.kill(pid, 'SIGKILL'); });
    const service = { url: started.url, key } as ServiceProcess;
    const { id } = (await api(service, '/v1/environments/testing/operations', { method: 'POST', body: { type: 'update' } })).json();
    await waitFor('the engine to lock the stack', async () => (await api(service, '/v1/environments/testing')).json().locks?.length > 0);
    const engine = engineProcesses(id);
    expect(engine.length).toBeGreaterThan(0);

    if (target === 'npm') process.kill(started.pgid, signal);
    else if (target === 'group') process.kill(-started.pgid, signal);
    else {
      process.kill(started.serverPid, signal);
      await new Promise((resolve) => setTimeout(resolve, 200));
      process.kill(started.serverPid, signal);
    }

    await waitFor('every process of the service and its engine to end', () =>
      processGroup(started.pgid).length === 0 && engineProcesses(id).length === 0, 90);
    expect(started.output()).toContain('grace period over: cancelling running operations');

    // A new process on the same data sees the operation cancelled, its stream ended, and the stack unlocked.
    const next = await spawnService({ ...env, STACKPILOT_PORT: '0' });
    cleanup.push(() => next.kill('SIGKILL'));
    expect((await api(next, `/v1/operations/${id}`)).json()).toMatchObject({ status: 'cancelled', errorCode: 'cancelled' });
    const events = parseSse((await api(next, `/v1/operations/${id}/events`)).body);
    expect(events.at(-1)).toMatchObject({ event: 'result', data: expect.stringContaining('"cancelled"') });
    expect((await api(next, '/v1/environments/testing')).json().locks).toEqual([]);
    await next.kill('SIGTERM');
  });
});

/** `npm start` as an operator runs it (in a process group of its own), with the kubeconfig given so it needs no cluster. */
async function npmStart(program: TempProgram, env: Record<string, string>) {
  const child = spawn('npm', ['start'], {
    cwd: repoDir,
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME, STACKPILOT_PORT: '0', STACKPILOT_LOG_LEVEL: 'info',
      STACKPILOT_SHUTDOWN_GRACE_SECONDS: '2', STACKPILOT_KUBECONFIG: join(program.dir, 'no-cluster'), ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await waitFor('npm start to listen', () => /"address":"([^"]+)","msg":"listening"/.exec(output)?.[1], 120);
  const launcher = childrenOf(child.pid!)[0]!;
  const serverPid = await waitFor('the server process', () => childrenOf(launcher)[0]);
  return { url, pgid: child.pid!, serverPid, output: () => output };
}
