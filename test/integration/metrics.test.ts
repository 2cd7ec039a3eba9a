// Prometheus metrics, scraped by a real Prometheus: after the test's operations, PromQL returns
// their number; HTTP requests are labelled by route pattern, never by raw URL; process metrics
// are there. The metrics listener is loopback-only by default; with a token, /metrics moves to
// the main listener behind it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { startPrometheus, type Prometheus } from '../support/prometheus.js';
import { startTestService, type TestService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

describe.each(DATABASES)('metrics on %s', (database) => {
  let service: TestService;
  let prometheus: Prometheus;

  beforeAll(async () => {
    service = await startTestService({ database, config: { metricsPort: 0 } });
    prometheus = await startPrometheus(new URL(service.integrations.metricsUrl!));
  });
  afterAll(async () => {
    await prometheus?.close();
    await service?.close();
  });

  it('lets PromQL count the operations the test ran, by environment, type and result', async () => {
    expect(new URL(service.integrations.metricsUrl!).hostname).toBe('127.0.0.1');
    const run = async (environment: string, type: string) => {
      const { id } = (await service.inject({ method: 'POST', url: `/v1/environments/${environment}/operations`, payload: { type } })).json();
      return (await service.inject(`/v1/operations/${id}?wait=60`)).json().status;
    };
    expect([await run('development', 'preview'), await run('development', 'update'), await run('testing', 'preview')]).toEqual(['succeeded', 'succeeded', 'succeeded']);

    await waitFor('Prometheus to scrape three operations', async () => (await prometheus.query('sum(stackpilot_operations_total)'))[0]?.value === 3, 30, 500);
    const byLabels = await prometheus.query('stackpilot_operations_total{result="succeeded"}');
    expect(byLabels.map((s) => [s.metric.environment, s.metric.type, s.value]).sort()).toEqual([['development', 'preview', 1], ['development', 'update', 1], ['testing', 'preview', 1]]);
    await waitFor('durations observed', async () => (await prometheus.query('sum(stackpilot_operation_duration_seconds_count)'))[0]?.value === 3, 30, 500);
    expect((await prometheus.query('sum(stackpilot_operation_wait_seconds_count)'))[0]?.value).toBe(3);
    expect((await prometheus.query('stackpilot_queue_depth{environment="development"}'))[0]?.value).toBe(0);
    expect((await prometheus.query('stackpilot_approvals_pending'))[0]?.value).toBe(0);
    expect((await prometheus.query('count(stackpilot_environment_info)'))[0]?.value).toBe(4);
    // development's update made its first release; testing has none yet.
    const info = await prometheus.query('stackpilot_environment_info');
    expect(Object.fromEntries(info.map((s) => [s.metric.environment, s.metric.release ?? '']))).toMatchObject({ development: '1', testing: '' });
    expect((await prometheus.query('process_resident_memory_bytes'))[0]?.value).toBeGreaterThan(0);
  });

  it('labels HTTP requests by route pattern and counts refusals by reason', async () => {
    await service.inject({ url: '/v1/environments/development', headers: { authorization: 'Bearer sp_wrong' } });
    await waitFor('the request histogram and the refusal', async () => {
      const refused = await prometheus.query('stackpilot_auth_refusals_total');
      return refused.length > 0 && (await prometheus.query('stackpilot_http_request_duration_seconds_count{route="/v1/operations/:id"}')).length > 0;
    }, 30, 500);
    const routes = (await prometheus.query('stackpilot_http_request_duration_seconds_count')).map((s) => s.metric.route!);
    expect(routes).toContain('/v1/environments/:env/operations');
    expect(routes.filter((route) => /[0-9a-f]{8}-[0-9a-f]{4}/.test(route))).toEqual([]);
    expect((await prometheus.query('stackpilot_auth_refusals_total')).map((s) => s.metric.reason)).toContain('credential_malformed');
  });

  it('serves nothing at /metrics on the main listener without a metrics token', async () => {
    expect((await service.app.inject({ url: '/metrics' })).statusCode).toBe(404);
  });
});

describe('metrics on the main listener behind a token', () => {
  let service: TestService;
  const token = 'metrics-token-0123456789abcdef';
  beforeAll(async () => {
    service = await startTestService({ database: 'sqlite', config: { metricsToken: token } });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('serves /metrics to the token only, and opens no listener of its own', async () => {
    expect(service.integrations.metricsUrl).toBeUndefined();
    expect((await service.app.inject({ url: '/metrics' })).statusCode).toBe(401);
    expect((await service.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${service.adminKey}` } })).statusCode).toBe(401);
    const scraped = await service.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } });
    expect(scraped.statusCode).toBe(200);
    expect(scraped.headers['content-type']).toContain('text/plain');
    expect(scraped.body).toContain('# TYPE stackpilot_operations_total counter');
  });
});
