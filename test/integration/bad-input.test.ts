// Bad input gets a problem+json answer with a stable code, never a 500, and never reaches the
// queue, the filesystem or the CLI.
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../../src/http/app.js';
import { DATABASES } from '../support/databases.js';
import { startTestService, type TestService } from '../support/service.js';

describe.each(DATABASES)('bad input on %s', (database) => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ database });
  });
  afterAll(async () => {
    await service?.close();
  });

  const cases: Array<{ name: string; request: InjectOptions; status: number; code: string; field?: string }> = [
    { name: 'unknown operation type', request: { method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'explode' } }, status: 400, code: 'invalid_request', field: 'body.type' },
    { name: 'unknown property', request: { method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'preview', force: true } }, status: 400, code: 'invalid_request', field: 'body.force' },
    { name: 'missing type', request: { method: 'POST', url: '/v1/environments/development/operations', payload: {} }, status: 400, code: 'invalid_request' },
    { name: 'unknown scope', request: { method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'preview', scope: 'database' } }, status: 400, code: 'invalid_request', field: 'body.scope' },
    { name: 'message too long', request: { method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'preview', message: 'x'.repeat(501) } }, status: 400, code: 'invalid_request', field: 'body.message' },
    { name: 'unknown environment', request: { method: 'POST', url: '/v1/environments/qa/operations', payload: { type: 'preview' } }, status: 404, code: 'environment_not_found' },
    { name: 'path traversal as environment', request: { method: 'GET', url: '/v1/environments/..%2F..%2Fetc' }, status: 400, code: 'invalid_request', field: 'params.env' },
    { name: 'environment name with a dot', request: { method: 'POST', url: '/v1/environments/development.yaml/operations', payload: { type: 'preview' } }, status: 400, code: 'invalid_request' },
    { name: 'malformed JSON', request: { method: 'POST', url: '/v1/environments/development/operations', payload: '{"type":', headers: { 'content-type': 'application/json' } }, status: 400, code: 'invalid_json' },
    { name: 'text body', request: { method: 'POST', url: '/v1/environments/development/operations', payload: 'type=update', headers: { 'content-type': 'text/plain' } }, status: 415, code: 'unsupported_media_type' },
    { name: 'form body', request: { method: 'POST', url: '/v1/environments/development/operations', payload: 'type=update', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, status: 415, code: 'unsupported_media_type' },
    { name: 'oversized body', request: { method: 'POST', url: '/v1/environments/development/operations', payload: JSON.stringify({ type: 'preview', message: 'x'.repeat(BODY_LIMIT_BYTES) }), headers: { 'content-type': 'application/json' } }, status: 413, code: 'payload_too_large' },
    { name: 'operation id not a uuid', request: { method: 'GET', url: '/v1/operations/42' }, status: 400, code: 'invalid_request', field: 'params.id' },
    { name: 'unknown operation', request: { method: 'GET', url: '/v1/operations/00000000-0000-4000-8000-000000000000' }, status: 404, code: 'operation_not_found' },
    { name: 'cancel of unknown operation', request: { method: 'POST', url: '/v1/operations/00000000-0000-4000-8000-000000000000/cancel' }, status: 404, code: 'operation_not_found' },
    { name: 'events of unknown operation', request: { method: 'GET', url: '/v1/operations/00000000-0000-4000-8000-000000000000/events', headers: { accept: 'text/event-stream' } }, status: 404, code: 'operation_not_found' },
    { name: 'negative wait', request: { method: 'GET', url: '/v1/operations/00000000-0000-4000-8000-000000000000?wait=-1' }, status: 400, code: 'invalid_request', field: 'querystring.wait' },
    { name: 'wait too long', request: { method: 'GET', url: '/v1/operations/00000000-0000-4000-8000-000000000000?wait=3600' }, status: 400, code: 'invalid_request' },
    { name: 'page size over the cap', request: { method: 'GET', url: '/v1/environments/development/operations?limit=101' }, status: 400, code: 'invalid_request', field: 'querystring.limit' },
    { name: 'bad Last-Event-ID', request: { method: 'GET', url: '/v1/operations/00000000-0000-4000-8000-000000000000/events', headers: { 'last-event-id': 'abc' } }, status: 400, code: 'invalid_request' },
    { name: 'unknown route', request: { method: 'GET', url: '/v1/nothing' }, status: 404, code: 'route_not_found' },
  ];

  // Each case checks for itself that nothing was queued: no case depends on another's state.
  const operationCount = async () => (await Promise.all(['development', 'testing', 'staging', 'production'].map(async (env) =>
      (await service.inject({ url: `/v1/environments/${env}/operations?limit=100` })).json().items.length))).reduce((a, b) => a + b, 0);

  it.each(cases)('$name → $status $code, queueing nothing', async ({ request, status, code, field }) => {
    const before = await operationCount();
    const response = await service.inject(request);
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toContain('application/problem+json');
    const problem = response.json();
    expect(problem).toMatchObject({ status, code, type: expect.stringContaining(code), title: expect.any(String), detail: expect.any(String), requestId: expect.any(String) });
    if (field) expect(problem.field).toBe(field);
    expect(await operationCount()).toBe(before);
  });

  it('answers a finished operation’s cancel with 409', async () => {
    const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'preview' } })).json();
    await service.inject({ url: `/v1/operations/${id}?wait=60` });
    const response = await service.inject({ method: 'POST', url: `/v1/operations/${id}/cancel` });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ code: 'operation_finished', status: 409 });
  });
});
