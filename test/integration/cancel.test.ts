// Cancelling: a queued operation leaves the queue without running; a running one is stopped
// gracefully (one SIGINT) and its stack is usable right after.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { startTestService, type TestService } from '../support/service.js';
import { setConfig } from '../support/stack-config.js';
import { parseSse } from '../support/sse.js';
import { waitFor } from '../support/wait.js';

describe.each(DATABASES)('cancelling operations on %s', (database) => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ database, prepare: (program) => setConfig(program, 'staging', 'sleepMs', '20000') });
  });
  afterAll(async () => {
    await service?.close();
  });

  const post = async (payload: object) =>
    (await service.inject({ method: 'POST', url: '/v1/environments/staging/operations', payload })).json();
  const get = async (id: string, wait = 0) => (await service.inject({ url: `/v1/operations/${id}?wait=${wait}` })).json();

  const untilRunning = (id: string) => waitFor(`operation ${id} to start`, async () => {
    const operation = await get(id);
    return operation.status !== 'queued' && operation;
  });

  it('removes a queued operation from the queue and stops a running one gracefully', async () => {
    const running = await post({ type: 'update' });
    const queued = await post({ type: 'update' });
    expect((await untilRunning(running.id)).status).toBe('running');

    const cancelQueued = await service.inject({ method: 'POST', url: `/v1/operations/${queued.id}/cancel` });
    expect(cancelQueued.statusCode).toBe(202);
    expect(cancelQueued.json()).toMatchObject({ status: 'cancelled', startedAt: null });

    // Once the engine holds the stack's lock it is into the program's 20 s wait: cancel then.
    await waitFor('the engine to lock the stack', async () => (await service.inject('/v1/environments/staging')).json().locks?.length > 0);
    const cancelRunning = await service.inject({ method: 'POST', url: `/v1/operations/${running.id}/cancel` });
    expect(cancelRunning.statusCode).toBe(202);
    expect(cancelRunning.json()).toMatchObject({ status: 'running', cancelRequested: true });

    const ended = await get(running.id, 60);
    expect(ended).toMatchObject({ status: 'cancelled', error: 'the operation was cancelled' });
    expect(Date.parse(ended.finishedAt) - Date.parse(ended.startedAt)).toBeLessThan(20_000);
    expect((await get(queued.id)).startedAt).toBeNull();

    const events = parseSse((await service.inject({ url: `/v1/operations/${queued.id}/events` })).body);
    expect(events).toEqual([{ id: '1', event: 'result', data: expect.stringContaining('"cancelled"') }]);

    // The stack was left unlocked: the next operation runs (a refresh, which skips the slow program).
    const next = await post({ type: 'refresh' });
    expect((await get(next.id, 60)).status).toBe('succeeded');
  });
});
