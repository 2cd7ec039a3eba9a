// Health checks through the API: set by an admin of the environment (audited), read back with
// their defaults; bad input is a 400 problem+json naming the field, never a 500, and writes
// nothing (the checks stay as they were).
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { person, refusals } from '../support/releases.js';
import { startTestService, type TestService } from '../support/service.js';

const URL_ = '/v1/environments/development/health-checks';
const query = { name: 'error-ratio', query: 'sum(rate(http_5xx[1m])) / sum(rate(http_all[1m]))', condition: '< 0.05', interval: 30, count: 5 };
const good = { bakeSeconds: 300, rollout: true, prometheus: { url: 'http://prometheus.monitoring:9090', queries: [query] } };
const withQuery = (change: Record<string, unknown>) => ({ ...good, prometheus: { ...good.prometheus, queries: [{ ...query, ...change }] } });

describe.each(DATABASES)('health checks through the API on %s', (database) => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ database });
  }, 120_000);
  afterAll(async () => {
    await service?.close();
  });

  it('has none by default: releases are not verified', async () => {
    const response = await service.inject({ url: URL_ });
    expect(response.statusCode).toBe(404);
    expect(response.json().code).toBe('health_checks_not_found');
  });

  const cases: Array<{ name: string; body: unknown; code: string; field: string }> = [
    { name: 'a condition that does not parse', body: withQuery({ condition: 'below 0.05' }), code: 'invalid_condition', field: 'prometheus.queries.0.condition' },
    { name: 'a condition with no number', body: withQuery({ condition: '<' }), code: 'invalid_condition', field: 'prometheus.queries.0.condition' },
    { name: 'an interval under 5 s', body: withQuery({ interval: 4 }), code: 'invalid_request', field: 'interval' },
    { name: 'a zero count', body: withQuery({ count: 0 }), code: 'invalid_request', field: 'count' },
    { name: 'a negative count', body: withQuery({ count: -3 }), code: 'invalid_request', field: 'count' },
    { name: 'a negative failure limit', body: withQuery({ failureLimit: -1 }), code: 'invalid_request', field: 'failureLimit' },
    { name: 'a negative consecutive error limit', body: withQuery({ consecutiveErrorLimit: -1 }), code: 'invalid_request', field: 'consecutiveErrorLimit' },
    { name: 'a fractional interval', body: withQuery({ interval: 7.5 }), code: 'invalid_request', field: 'interval' },
    { name: 'a zero bake period', body: { ...good, bakeSeconds: 0 }, code: 'invalid_request', field: 'bakeSeconds' },
    { name: 'a negative bake period', body: { ...good, bakeSeconds: -60 }, code: 'invalid_request', field: 'bakeSeconds' },
    { name: 'two queries of one name', body: { ...good, prometheus: { ...good.prometheus, queries: [query, query] } }, code: 'invalid_request', field: 'prometheus.queries.1.name' },
    { name: 'no query', body: { ...good, prometheus: { url: good.prometheus.url, queries: [] } }, code: 'invalid_request', field: 'queries' },
    { name: 'no Prometheus to ask', body: { ...good, prometheus: { queries: [query] } }, code: 'prometheus_url_required', field: 'prometheus.url' },
    { name: 'a Prometheus URL that is not http', body: { ...good, prometheus: { ...good.prometheus, url: 'file:///etc/passwd' } }, code: 'invalid_request', field: 'url' },
    { name: 'no check at all', body: { bakeSeconds: 60 }, code: 'no_health_checks', field: 'rollout' },
    { name: 'an unknown property', body: { ...good, webhook: 'x' }, code: 'invalid_request', field: 'webhook' },
    { name: 'a CloudWatch check with no alarm', body: { bakeSeconds: 60, cloudwatch: { region: 'ca-central-1', alarms: [] } }, code: 'invalid_request', field: 'alarms' },
    { name: 'a CloudWatch region that is not one', body: { bakeSeconds: 60, cloudwatch: { region: 'toronto', alarms: ['x'] } }, code: 'invalid_request', field: 'region' },
  ];

  it.each(cases)('refuses $name with 400 $code, writing nothing', async ({ body, code, field }) => {
    const response = await service.inject({ method: 'PUT', url: URL_, payload: body as InjectOptions['payload'] });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ status: 400, code, requestId: expect.any(String) });
    expect(response.json().field).toContain(field);
    expect((await service.inject({ url: URL_ })).statusCode).toBe(404);
  });

  it('is set by an admin of the environment, audited, and read back with its defaults', async () => {
    const ci = await person(service, 'ci', [{ role: 'deployer', environments: ['development'] }]);
    const refused = await ci.request({ method: 'PUT', url: URL_, payload: good });
    expect(refused.statusCode).toBe(403);
    expect(await refusals(service, 'ci')).toContainEqual(['setHealthChecks', 'forbidden']);

    const set = await service.inject({ method: 'PUT', url: URL_, payload: { ...good, cloudwatch: { region: 'ca-central-1', alarms: ['toronto-ai-5xx'] } } });
    expect(set.statusCode, set.body).toBe(200);
    const read = await ci.request({ url: URL_ });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({
      environment: 'development', updatedBy: 'bootstrap-admin',
      spec: {
        bakeSeconds: 300, rollout: true, cloudwatch: { region: 'ca-central-1', alarms: ['toronto-ai-5xx'], interval: 60 },
        prometheus: { url: good.prometheus.url, queries: [{ ...query, failureLimit: 0, consecutiveErrorLimit: 4 }] },
      },
    });
    const audit = (await service.inject({ url: '/v1/audit?result=allowed&limit=100' })).json().items as Array<{ action: string; target: string }>;
    expect(audit).toContainEqual(expect.objectContaining({ action: 'setHealthChecks', target: 'environment:development' }));

    expect((await service.inject({ method: 'DELETE', url: URL_ })).statusCode).toBe(204);
    expect((await service.inject({ url: URL_ })).statusCode).toBe(404);
  });

  it('says a release with no verification has none', async () => {
    const response = await service.inject({ url: '/v1/environments/development/releases/00000000-0000-4000-8000-000000000000/verification' });
    expect(response.statusCode).toBe(404);
    expect(response.json().code).toBe('verification_not_found');
  });
});
