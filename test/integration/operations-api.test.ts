// The operations API against the real engine and each real database: queueing, waiting,
// events, logs, idempotency, listing and cancelling.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { startTestService, type TestService } from '../support/service.js';
import { parseSse } from '../support/sse.js';
import { setConfig } from '../support/stack-config.js';

describe.each(DATABASES)('operations API on %s', (database) => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ database });
  });
  afterAll(async () => {
    await service?.close();
  });

  const post = (env: string, payload: object, headers: Record<string, string> = {}) =>
    service.inject({ method: 'POST', url: `/v1/environments/${env}/operations`, payload, headers });
  const waitFor = async (id: string) => (await service.inject({ url: `/v1/operations/${id}?wait=60` })).json();

  it('queues an update, runs it and reports its result, events and log', async () => {
    const created = await post('development', { type: 'update', message: 'first deploy' });
    expect(created.statusCode).toBe(202);
    const operation = created.json();
    expect(created.headers.location).toBe(`/v1/operations/${operation.id}`);
    expect(operation).toMatchObject({ environment: 'development', type: 'update', spec: { scope: 'all' }, status: 'queued', message: 'first deploy', errorCode: null });

    const done = await waitFor(operation.id);
    expect(done).toMatchObject({ status: 'succeeded', error: null, pulumiVersion: expect.stringMatching(/^3\./) });
    expect(done.summary).toEqual({ create: 5 }); // stack, two layers, their two markers
    expect(done.outputs).toMatchObject({ greeting: 'hello from development', infraGeneration: '1' });
    expect(Date.parse(done.finishedAt)).toBeGreaterThanOrEqual(Date.parse(done.startedAt));

    const stream = await service.inject({ url: `/v1/operations/${operation.id}/events`, headers: { accept: 'text/event-stream' } });
    expect(stream.statusCode).toBe(200);
    expect(stream.headers['content-type']).toContain('text/event-stream');
    const events = parseSse(stream.body);
    expect(events.map((e) => Number(e.id))).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.event).toBe('prelude');
    expect(events.map((e) => e.event)).toContain('summary');
    expect(events.at(-1)).toMatchObject({ event: 'result' });
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ status: 'succeeded', summary: { create: 5 } });

    const log = await service.inject({ url: `/v1/operations/${operation.id}/log` });
    expect(log.headers['content-type']).toContain('text/plain');
    expect(log.body).toContain('Updating (development)');

    const env = (await service.inject({ url: '/v1/environments/development' })).json();
    expect(env).toMatchObject({ name: 'development', status: 'idle', holder: null, queueLength: 0, locks: [], resourceCount: 5, lastOperation: { id: operation.id } });
    expect(env.outputs).toMatchObject({ greeting: 'hello from development' });
  });

  it('resumes the event stream after Last-Event-ID with no gap and no duplicate', async () => {
    const { id } = (await post('testing', { type: 'preview' })).json();
    await waitFor(id);
    const all = parseSse((await service.inject({ url: `/v1/operations/${id}/events` })).body);
    expect(all.length).toBeGreaterThan(4);
    const resumed = parseSse((await service.inject({ url: `/v1/operations/${id}/events`, headers: { 'last-event-id': '3' } })).body);
    expect(resumed.map((e) => e.id)).toEqual(all.slice(3).map((e) => e.id));
    expect(resumed).toEqual(all.slice(3));
  });

  it('returns the first operation for a retried Idempotency-Key, and 422 for the key reused with another body', async () => {
    const key = `deploy-${Math.random()}`;
    const first = await post('staging', { type: 'preview' }, { 'idempotency-key': key });
    const retry = await post('staging', { type: 'preview' }, { 'idempotency-key': key });
    expect(retry.statusCode).toBe(202);
    expect(retry.json().id).toBe(first.json().id);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    const other = await post('staging', { type: 'update' }, { 'idempotency-key': key });
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({ code: 'idempotency_key_reused', status: 422 });
    await waitFor(first.json().id);
  });

  it('runs one operation per stack at a time, in order, and different stacks in parallel', async () => {
    const slow = { type: 'preview' };
    const a1 = (await post('production', slow)).json();
    const a2 = (await post('production', slow)).json();
    const b1 = (await post('staging', slow)).json();
    const [d1, d2, e1] = await Promise.all([waitFor(a1.id), waitFor(a2.id), waitFor(b1.id)]);
    expect([d1.status, d2.status, e1.status]).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // Same stack: the second starts only after the first has finished.
    expect(Date.parse(d2.startedAt)).toBeGreaterThanOrEqual(Date.parse(d1.finishedAt));
    // Another stack: runs while the first one does.
    expect(Date.parse(e1.startedAt)).toBeLessThan(Date.parse(d1.finishedAt));
  });

  it('lists an environment’s operations newest first, page by page', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await post('testing', { type: 'preview', message: `page ${i}` })).json().id);
    for (const id of ids) await waitFor(id);
    const page1 = (await service.inject({ url: '/v1/environments/testing/operations?limit=2' })).json();
    expect(page1.items.map((o: { id: string }) => o.id)).toEqual([ids[2], ids[1]]);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = (await service.inject({ url: `/v1/environments/testing/operations?limit=2&cursor=${page1.nextCursor}` })).json();
    expect(page2.items[0].id).toBe(ids[0]);
    const tooMany = await service.inject({ url: '/v1/environments/testing/operations?limit=1000' });
    expect(tooMany.statusCode).toBe(400);
    const badCursor = await service.inject({ url: '/v1/environments/testing/operations?cursor=bm9wZQ' });
    expect(badCursor.json()).toMatchObject({ status: 400, code: 'invalid_cursor' });
  });

  it('gives two identical requests sent at once one operation', async () => {
    const key = `race-${Math.random()}`;
    const [a, b] = await Promise.all([0, 1].map(() => post('production', { type: 'preview', message: 'race' }, { 'idempotency-key': key })));
    expect([a!.statusCode, b!.statusCode]).toEqual([202, 202]);
    expect(a!.json().id).toBe(b!.json().id);
    expect([a!.headers['idempotent-replayed'], b!.headers['idempotent-replayed']].filter(Boolean)).toEqual(['true']);
    await waitFor(a!.json().id);
  });

  it('streams events while the operation still runs: the first arrives before the end', async () => {
    await setConfig(service.program, 'testing', 'sleepMs', '3000');
    const { id } = (await post('testing', { type: 'update' })).json();
    const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`${address}/v1/operations/${id}/events`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${service.adminSession}` } });
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^id: 1\nevent: prelude/);
    // The operation was not finished when its first event reached the client.
    expect((await service.inject(`/v1/operations/${id}`)).json().status).toBe('running');
    await reader.cancel();
    await setConfig(service.program, 'testing', 'sleepMs', '0');
    expect((await waitFor(id)).status).toBe('succeeded');
  });

  it('leaves the engine\'s debug diagnostics out of the stream, unless the operation asks for them', async () => {
    const debugCount = async (payload: object) => {
      const { id } = (await post('development', payload)).json();
      await waitFor(id);
      return parseSse((await service.inject({ url: `/v1/operations/${id}/events` })).body)
        .filter((e) => e.event === 'diagnostic' && JSON.parse(e.data).severity === 'debug').length;
    };
    expect(await debugCount({ type: 'preview' })).toBe(0);
    expect(await debugCount({ type: 'preview', debug: true })).toBeGreaterThan(0);
  });

  it('runs programs on the pinned Node LTS or newer', async () => {
    const { id } = (await post('development', { type: 'update' })).json();
    const done = await waitFor(id);
    expect(Number(/^v(\d+)/.exec(done.outputs.nodeVersion)?.[1])).toBeGreaterThanOrEqual(24);
  });
});
