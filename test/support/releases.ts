// People for release tests: API keys made through the API (each its own principal), requests
// made as them, waiting for an operation to settle, and the refusals the audit trail recorded.
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { Grant } from '../../src/auth/roles.js';
import { adminSession, bearer } from './credentials.js';
import type { TestService } from './service.js';

export interface Person {
  principal: string;
  token: string;
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
}

/** A key for a new principal with these grants; with `session`, a second-factor session of it instead. */
export async function person(service: TestService, principal: string, grants: Grant[], session = false): Promise<Person> {
  const created = await service.inject({ method: 'POST', url: '/v1/keys', payload: { name: principal, principal, grants, expiresInDays: 30 } });
  expect(created.statusCode, created.body).toBe(201);
  let token = created.json().token as string;
  if (session) token = (await adminSession(service.app, token)).token;
  return { principal, token, request: (options) => service.app.inject({ ...options, headers: { ...bearer(token), ...options.headers } }) };
}

/** The operation once it has finished or waits for approval. */
export async function settled(service: TestService, id: string): Promise<Record<string, any>> {
  for (;;) {
    const operation = (await service.inject({ url: `/v1/operations/${id}?wait=30` })).json();
    if (!['queued', 'running'].includes(operation.status)) return operation;
  }
}

/** The audit trail's refusals of a principal: [action, reason]. */
export async function refusals(service: TestService, principal: string): Promise<Array<[string, string]>> {
  const items = (await service.inject({ url: `/v1/audit?result=refused&principal=${encodeURIComponent(principal)}&limit=100` })).json().items as Array<{ action: string; reason: string }>;
  return items.map((r) => [r.action, r.reason]);
}
