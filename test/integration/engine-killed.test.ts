// The engine dying on its own (kill -9 of the CLI, as an out-of-memory kill would) mid-update:
// the operation fails with engine_killed naming the signal, no process of it survives, the
// lock the dead CLI left is removed, the environment shows the lock the backend really holds
// all along, and the next update runs.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineProcesses } from '../../src/engine/engine-processes.js';
import { DATABASES } from '../support/databases.js';
import { startTestService, type TestService } from '../support/service.js';
import { setConfig } from '../support/stack-config.js';
import { waitFor } from '../support/wait.js';

describe.each(DATABASES)('an engine killed mid-update, on %s', (database) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ database, prepare: (program) => setConfig(program, 'testing', 'sleepMs', '30000') });
  });
  afterAll(async () => {
    await service?.close();
  });

  /** The lock files the file:// backend holds on the stack, read directly. */
  const lockFiles = () => {
    const dir = join(new URL(service.program.backendUrl).pathname, '.pulumi', 'locks', 'organization', 'fixture-project', 'testing');
    return existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.json')) : [];
  };
  const viewLocks = async () => (await service.inject('/v1/environments/testing')).json().locks as Array<{ pid: number }>;

  it('fails with engine_killed naming the signal, ends every process of it, frees the stack, and the next update runs', async () => {
    const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/testing/operations', payload: { type: 'update' } })).json();
    await waitFor('the engine to lock the stack', async () => (await viewLocks()).length > 0);
    const cli = engineProcesses(id).find((p) => p.command === 'pulumi')!;
    expect(await viewLocks()).toEqual([expect.objectContaining({ pid: cli.pid })]);
    expect(lockFiles()).toHaveLength(1);

    process.kill(cli.pid, 'SIGKILL');
    const done = (await service.inject(`/v1/operations/${id}?wait=60`)).json();
    expect(done).toMatchObject({ status: 'failed', errorCode: 'engine_killed' });
    expect(done.error).toContain('killed by SIGKILL');
    await waitFor('no process of the killed operation', () => engineProcesses(id).length === 0, 10);
    expect(lockFiles()).toEqual([]);
    expect(await viewLocks()).toEqual([]);

    await setConfig(service.program, 'testing', 'sleepMs', '0');
    const { id: next } = (await service.inject({ method: 'POST', url: '/v1/environments/testing/operations', payload: { type: 'update' } })).json();
    const after = (await service.inject(`/v1/operations/${next}?wait=60`)).json();
    expect(after.status, after.error).toBe('succeeded');
  });
});
