// Webhooks against real receivers (HTTP servers on loopback, allowlisted): every event of a real
// operation arrives signed per Standard Webhooks, with the same webhook-id on every retry; a
// receiver that fails three times gets each event in the end; a 410 disables the endpoint;
// Retry-After is honoured; a hanging receiver holds up no other; a restart between retries loses
// nothing; bad registrations are refused, audited, and create nothing.
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startService } from '../../src/service.js';
import { DATABASES } from '../support/databases.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestService, type TestService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

const OPERATION_EVENTS = ['operation.queued', 'operation.started', 'operation.succeeded', 'operation.failed', 'operation.cancelled'];

describe.each(DATABASES)('webhooks on %s', (database) => {
  let service: TestService;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    // Retries a second apart (the real schedule waits minutes), so the test sees several.
    service = await startTestService({ database, config: { webhookAllow: ['127.0.0.0/8'], webhookRetrySeconds: [0, 1, 1, 1, 1], metricsPort: 0 } });
  });
  let restarted = false;
  afterEach(async () => {
    // Each test's endpoints stop hearing of later tests' operations.
    if (restarted) return;
    for (const hook of (await service.inject('/v1/webhooks')).json().items) await service.inject({ method: 'DELETE', url: `/v1/webhooks/${hook.id}` });
  });
  afterAll(async () => {
    await service?.close();
    for (const receiver of receivers) await receiver.close();
  });

  const receiver = async (answer?: Receiver['answer']) => {
    const started = await startReceiver(answer);
    receivers.push(started);
    return started;
  };
  const register = async (url: string, events = OPERATION_EVENTS, environments: '*' | string[] = ['development']) =>
    service.inject({ method: 'POST', url: '/v1/webhooks', payload: { url, events, environments } });
  const runPreview = async () => {
    const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'preview' } })).json();
    expect((await service.inject(`/v1/operations/${id}?wait=60`)).json().status).toBe('succeeded');
    return id as string;
  };
  const eventsOf = (r: Receiver, operationId: string) => r.requests.map((q) => JSON.parse(q.body)).filter((b) => b.data.operationId === operationId);

  it('delivers queued, started and succeeded, signed per Standard Webhooks; the secret is shown once', async () => {
    const target = await receiver();
    const created = await register(`${target.url}/hook`);
    expect(created.statusCode).toBe(201);
    const { webhook, secret } = created.json();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{32}$/);
    expect(JSON.stringify((await service.inject('/v1/webhooks')).json())).not.toContain(secret);

    const operationId = await runPreview();
    await waitFor('three deliveries', () => eventsOf(target, operationId).length >= 3, 30);
    const verifier = new Webhook(secret);
    for (const request of target.requests) {
      expect(verifier.verify(request.body, request.headers as Record<string, string>)).toBeTruthy();
      expect(request.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    }
    expect(() => new Webhook(`whsec_${Buffer.alloc(24, 1).toString('base64')}`).verify(target.requests[0]!.body, target.requests[0]!.headers as Record<string, string>)).toThrow();
    const bodies = eventsOf(target, operationId);
    expect(bodies.map((b) => b.type)).toEqual(['operation.queued', 'operation.started', 'operation.succeeded']);
    expect(bodies[2].data).toMatchObject({ environment: 'development', operationId, operationType: 'preview', status: 'succeeded', errorCode: null });

    const deliveries = (await service.inject(`/v1/webhooks/${webhook.id}/deliveries`)).json().items;
    expect(deliveries.map((d: { status: string; attempts: number }) => [d.status, d.attempts])).toEqual([['delivered', 1], ['delivered', 1], ['delivered', 1]]);
  });

  it('retries a receiver that fails three times, with the same webhook-id, until it acknowledges every event', async () => {
    const seen = new Map<string, number>();
    const target = await receiver((request) => {
      const id = String(request.headers['webhook-id']);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      return seen.get(id)! <= 3 ? { status: 500 } : { status: 204 };
    });
    const { webhook } = (await register(target.url)).json();
    const operationId = await runPreview();
    await waitFor('every event acknowledged', async () => {
      const items = (await service.inject(`/v1/webhooks/${webhook.id}/deliveries`)).json().items;
      return items.length === 3 && items.every((d: { status: string }) => d.status === 'delivered') && items;
    }, 60);
    const deliveries = (await service.inject(`/v1/webhooks/${webhook.id}/deliveries`)).json().items;
    for (const delivery of deliveries) expect(delivery).toMatchObject({ attempts: 4, lastStatus: 204, lastError: null });
    expect([...seen.values()]).toEqual([4, 4, 4]);
    // Each event's four attempts carried one id and one body.
    for (const id of seen.keys()) expect(new Set(target.requests.filter((r) => r.headers['webhook-id'] === id).map((r) => r.body)).size).toBe(1);
    expect(eventsOf(target, operationId).length).toBe(12);
    const metrics = await (await fetch(service.integrations.metricsUrl!)).text();
    expect(metrics).toMatch(/stackpilot_webhook_deliveries_total\{result="retrying"\} (9|[1-9]\d+)/);
  });

  it('disables an endpoint that answers 410, and waits as long as Retry-After asks', async () => {
    const gone = await receiver(() => ({ status: 410 }));
    const busy = await receiver((_r, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '3' } } : { status: 200 }));
    const goneHook = (await register(gone.url, ['operation.queued'])).json().webhook;
    await register(busy.url, ['operation.queued']);
    await runPreview();
    await waitFor('the 410 to disable its endpoint', async () => (await service.inject('/v1/webhooks')).json().items.find((h: { id: string }) => h.id === goneHook.id).disabledAt, 20);
    await waitFor('the busy receiver to be retried', () => busy.requests.length >= 2, 20);
    expect(busy.requests[1]!.at - busy.requests[0]!.at).toBeGreaterThanOrEqual(2900);
    await runPreview();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(gone.requests.length).toBe(1); // disabled: nothing more was sent to it
  });

  it('keeps delivering to others while one receiver hangs', async () => {
    const hanging = await receiver(() => 'hang');
    const quick = await receiver();
    await register(hanging.url);
    await register(quick.url);
    const operationId = await runPreview();
    await waitFor('the quick receiver to get all three events', () => eventsOf(quick, operationId).length === 3, 8);
    expect(hanging.requests.length).toBeGreaterThan(0);
  });

  it('redelivers a delivery on request, with its id', async () => {
    const target = await receiver();
    const { webhook } = (await register(target.url, ['operation.succeeded'])).json();
    await runPreview();
    await waitFor('the delivery', () => target.requests.length === 1, 20);
    const [delivery] = (await service.inject(`/v1/webhooks/${webhook.id}/deliveries`)).json().items;
    const again = await service.inject({ method: 'POST', url: `/v1/webhooks/${webhook.id}/deliveries/${delivery.id}/redeliver` });
    expect(again.statusCode).toBe(202);
    await waitFor('the redelivery', () => target.requests.length === 2, 20);
    expect(target.requests[1]!.headers['webhook-id']).toBe(delivery.id);
  });

  it.each([
    { name: 'a URL that is not http(s)', url: 'ftp://example.com/hook', events: ['operation.queued'], code: 'invalid_webhook_url' },
    { name: 'an event that does not exist', url: 'https://example.com/hook', events: ['operation.exploded'], code: 'unknown_event' },
    { name: 'the cloud metadata address', url: 'http://169.254.169.254/latest/meta-data', events: ['operation.queued'], code: 'webhook_target_refused' },
    { name: 'a private address', url: 'http://10.0.0.1/hook', events: ['operation.queued'], code: 'webhook_target_refused' },
  ])('refuses $name with 400 $code, audited, creating nothing', async ({ url, events, code }) => {
    const response = await register(url, events);
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ code, field: expect.any(String) });
    expect((await service.inject('/v1/webhooks')).json().items).toEqual([]);
    const audit = (await service.inject(`/v1/audit?action=createWebhook&result=refused`)).json().items;
    expect(audit.some((record: { reason: string }) => record.reason === code)).toBe(true);
  });

  it('loses nothing when the service restarts between retries', async () => {
    let up = false;
    const target = await receiver(() => (up ? { status: 200 } : { status: 503 }));
    // Retries 4 s apart: the restart happens between two of them.
    const { webhook } = (await register(target.url, ['operation.succeeded'])).json();
    const operationId = await runPreview();
    await waitFor('a failed first attempt', () => target.requests.length >= 1, 20);
    await service.stop(1000);
    restarted = true;
    up = true;
    const again = await startService(service.config, createLogger('silent'));
    try {
      await waitFor('the delivery after the restart', () => target.requests.length >= 2 && target.requests.every((r) => JSON.parse(r.body).data.operationId === operationId), 30);
      const ids = new Set(target.requests.map((r) => r.headers['webhook-id']));
      expect(ids.size).toBe(1);
      const [delivery] = (await again.app.inject({ url: `/v1/webhooks/${webhook.id}/deliveries`, headers: { authorization: `Bearer ${service.adminSession}` } })).json().items;
      expect(delivery).toMatchObject({ status: 'delivered', lastStatus: 200 });
      expect(delivery.attempts).toBeGreaterThanOrEqual(2);
    } finally {
      await again.stop(1000);
    }
  });
});
