// A stack locked by someone else (another CLI, another tool) fails the operation with reason
// `locked` and names the holder; once the holder lets go, the next operation runs.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { startTestService, type TestService } from '../support/service.js';

describe.each(DATABASES)('a stack locked by another holder, on %s', (database) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ database });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('fails with reason locked, names the holder, and runs again once the lock is gone', async () => {
    // The file backend's lock, written the way the CLI writes it for a holder elsewhere.
    const locks = join(new URL(service.program.backendUrl).pathname, '.pulumi', 'locks', 'organization', 'fixture-project', 'staging');
    mkdirSync(locks, { recursive: true });
    const lock = join(locks, '7d3c1a2e-0000-4000-8000-000000000001.json');
    writeFileSync(lock, JSON.stringify({ pid: 4242, username: 'alice', hostname: 'ci-runner-7', timestamp: new Date().toISOString() }));

    const run = async () => {
      const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/staging/operations', payload: { type: 'update' } })).json();
      return (await service.inject({ url: `/v1/operations/${id}?wait=60` })).json();
    };
    const blocked = await run();
    expect(blocked.status).toBe('failed');
    expect(blocked.errorCode).toBe('locked');
    expect(blocked.error).toMatch(/^the stack is locked by alice@ci-runner-7 \(pid 4242\) since /);
    // It says what happens next, never where the state lives or which CLI command to run.
    expect(blocked.error).toContain('never breaks another holder');
    expect(blocked.error).not.toContain(new URL(service.program.backendUrl).pathname);
    expect(blocked.error).not.toContain('pulumi cancel');
    // The environment shows the lock the backend really holds.
    expect((await service.inject('/v1/environments/staging')).json().locks).toEqual([expect.objectContaining({ pid: 4242, username: 'alice', hostname: 'ci-runner-7' })]);

    rmSync(lock);
    expect((await run()).status).toBe('succeeded');
  });
});
