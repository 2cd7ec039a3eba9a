// Two service instances on one database (the same SQLite file, or one PostgreSQL database),
// each caching the credentials it has checked: a change made through one replica (a key
// revoked or rotated out, a session ended, grants narrowed, a lockout recorded) is enforced
// by the other on its very next request, although that replica had the credential cached.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startService, type Service } from '../../src/service.js';
import { bearer, newKeyToken } from '../support/credentials.js';
import { DATABASES } from '../support/databases.js';
import { startTestService, type TestService } from '../support/service.js';

describe.each(DATABASES)('credentials cached by two replicas on %s', (database) => {
  let a: TestService;
  let b: Service;

  beforeAll(async () => {
    a = await startTestService({ database, config: { lockoutMaxFailures: 3 } });
    // B shares A's configuration: its database, data dir and project.
    b = await startService(a.config, createLogger('warn'));
  });
  afterAll(async () => {
    await b?.stop(1000);
    await a?.close();
  });

  const newKey = async (name: string, grants: unknown = [{ role: 'viewer', environments: '*' }]) => {
    const created = await a.inject({ method: 'POST', url: '/v1/keys', payload: { name, principal: name, grants, expiresInDays: 30 } });
    expect(created.statusCode, created.body).toBe(201);
    return { id: created.json().key.id as string, token: created.json().token as string };
  };
  // Each test asks B from an address of its own: the refusals it expects count toward that
  // address's lockout (three fail here), never toward A's admin session's.
  let tests = 0;
  let address = '';
  beforeEach(() => {
    address = `10.0.0.${++tests}`;
  });
  const onB = (token: string, url = '/v1/environments/development/operations', remoteAddress = address) =>
    b.app.inject({ url, headers: bearer(token), remoteAddress });
  /** Used twice on B: the second answer comes from B's cache. */
  const cachedOnB = async (token: string, url?: string, remoteAddress?: string) => {
    for (let i = 0; i < 2; i++) expect((await onB(token, url, remoteAddress)).statusCode).toBe(200);
  };

  it('refuses a key revoked on A at its next request on B', async () => {
    const key = await newKey('revoked-elsewhere');
    await cachedOnB(key.token);
    expect((await a.inject({ method: 'DELETE', url: `/v1/keys/${key.id}` })).statusCode).toBe(200);
    expect((await onB(key.token)).json()).toMatchObject({ status: 401, code: 'credential_revoked' });
  });

  it('refuses a key rotated out on A (no grace) at its next request on B', async () => {
    const key = await newKey('rotated-elsewhere');
    await cachedOnB(key.token);
    expect((await a.inject({ method: 'POST', url: `/v1/keys/${key.id}/rotate`, payload: { graceHours: 0 } })).statusCode).toBe(201);
    expect((await onB(key.token)).json()).toMatchObject({ status: 401, code: 'credential_rotated' });
  });

  it('refuses a session ended on A at its next request on B', async () => {
    const key = await newKey('session-elsewhere');
    const signedIn = await a.app.inject({ method: 'POST', url: '/v1/dashboard/session', headers: bearer(key.token), payload: {} });
    expect(signedIn.statusCode, signedIn.body).toBe(201);
    const session = signedIn.cookies.find((cookie) => cookie.name === 'stackpilot_session')!.value;
    await cachedOnB(session);
    expect((await a.app.inject({ method: 'DELETE', url: '/v1/dashboard/session', headers: bearer(session) })).statusCode).toBe(204);
    expect((await onB(session)).json()).toMatchObject({ status: 401, code: 'session_ended' });
  });

  it('applies grants changed on A at the next request on B', async () => {
    const key = await newKey('narrowed-elsewhere');
    await cachedOnB(key.token);
    // No route changes a key's grants; an operator's SQL on A's connection does, and counts all the same.
    await a.database.db.updateTable('api_keys').set({ grants: JSON.stringify([{ role: 'viewer', environments: ['testing'] }]) }).where('id', '=', key.id).execute();
    expect((await onB(key.token)).json()).toMatchObject({ status: 404, code: 'environment_not_found' });
    expect((await onB(key.token, '/v1/environments/testing/operations')).statusCode).toBe(200);
  });

  it('locks out on B a source whose failures A recorded', async () => {
    const key = await newKey('locked-elsewhere');
    const source = '10.7.7.7';
    await cachedOnB(key.token, undefined, source); // B has checked this source: not locked out
    for (let i = 0; i < 3; i++) {
      expect((await a.app.inject({ url: '/v1/environments', headers: bearer(newKeyToken()), remoteAddress: source })).statusCode).toBe(401);
    }
    expect((await onB(key.token, undefined, source)).json()).toMatchObject({ status: 429, code: 'locked_out' });
  });
});
