// The findings of the outside review, each reproduced: escalation through key grants, TOTP
// guesses, floods before authentication, rotation and session lifetimes, OIDC token ages, the
// audit trail's integrity, event streams held open, and small leaks of existence and input.
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startService } from '../../src/service.js';
import { adminSession, bearer, newKeyToken, totpCode } from '../support/credentials.js';
import { DATABASES } from '../support/databases.js';
import { startTestService, type TestService } from '../support/service.js';
import { parseSse } from '../support/sse.js';
import { setConfig } from '../support/stack-config.js';

describe.each(DATABASES)('security findings on %s', (database) => {
  let service: TestService;
  let jwks: FastifyInstance;
  let signingKey: CryptoKey;
  const ISSUER = 'https://ci.stackpilot.test';

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    signingKey = pair.privateKey;
    jwks = Fastify();
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks.get('/jwks', async () => ({ keys: [jwk] }));
    const url = await jwks.listen({ host: '127.0.0.1', port: 0 });
    service = await startTestService({
      database,
      prepare: (program) => setConfig(program, 'staging', 'sleepMs', '20000'),
      config: {
        lockoutMaxFailures: 3, maxStreamsPerPrincipal: 2, streamRecheckSeconds: 1, oidcMaxTokenAgeSeconds: 3600,
        oidcIssuers: [{ issuer: ISSUER, audience: 'stackpilot', jwksUri: `${url}/jwks`, rules: [{ claims: { repository: 'toronto/agent' }, grants: [{ role: 'viewer', environments: '*' }] }] }],
      },
    });
  });
  afterAll(async () => {
    await service?.close();
    await jwks?.close();
  });

  // Requests that fail authentication on purpose come from addresses of their own, so this
  // suite's small lockout (three failures) locks out only them.
  const as = (token: string, request: { method?: 'GET' | 'POST' | 'DELETE'; url: string; payload?: object; headers?: Record<string, string>; remoteAddress?: string }) =>
    service.app.inject({ ...request, headers: { ...bearer(token), ...request.headers } });
  const createKey = (session: string, payload: object) => as(session, { method: 'POST', url: '/v1/keys', payload: { expiresInDays: 30, ...payload } });

  describe('grants', () => {
    let devAdmin: { id: string; token: string; session: string; totpSecret: string };
    beforeAll(async () => {
      const created = (await createKey(service.adminSession, { name: 'dev admin', principal: 'dev-admin', grants: [{ role: 'admin', environments: ['development'] }] })).json();
      const opened = await adminSession(service.app, created.token);
      devAdmin = { ...created.key, token: created.token, session: opened.token, totpSecret: opened.totpSecret };
    });

    it('lets a credential grant only what it holds: no production, no "*", no higher role', async () => {
      for (const grants of [
        [{ role: 'admin', environments: ['production'] }],
        [{ role: 'admin', environments: '*' }],
        [{ role: 'viewer', environments: ['testing'] }],
      ]) {
        const refused = await createKey(devAdmin.session, { name: 'x', principal: 'dev-admin', grants });
        expect(refused.json(), JSON.stringify(grants)).toMatchObject({ status: 403, code: 'grant_exceeds_own' });
      }
      expect((await createKey(devAdmin.session, { name: 'ci', principal: 'dev-ci', grants: [{ role: 'deployer', environments: ['development'] }] })).statusCode).toBe(201);
      const trail = await service.database.db.selectFrom('audit_log').select('reason').where('principal', '=', 'dev-admin').where('action', '=', 'createKey').where('result', '=', 'refused').execute();
      expect(trail).toHaveLength(3);
    });

    it('lets an admin manage only keys whose every environment it administers', async () => {
      const bootstrapKey = (await service.inject('/v1/keys')).json().items.find((k: { principal: string }) => k.principal === 'bootstrap-admin');
      expect((await as(devAdmin.session, { method: 'DELETE', url: `/v1/keys/${bootstrapKey.id}` })).json()).toMatchObject({ status: 403, code: 'key_out_of_reach' });
      expect((await as(devAdmin.session, { method: 'POST', url: `/v1/keys/${bootstrapKey.id}/rotate`, payload: {} })).json()).toMatchObject({ status: 403, code: 'key_out_of_reach' });
      const listed = (await as(devAdmin.session, { url: '/v1/keys' })).json().items.map((k: { principal: string }) => k.principal);
      expect(listed).not.toContain('bootstrap-admin');
      expect(listed).toContain('dev-ci');
    });

    it('shows an environment\'s admin only its environment\'s audit records, and the chain check only to an admin of everything', async () => {
      await service.inject({ method: 'POST', url: '/v1/environments/staging/operations', payload: { type: 'preview' } });
      await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'preview' } });
      const records = (await as(devAdmin.session, { url: '/v1/audit?limit=100' })).json().items as Array<{ environment: string | null }>;
      expect(records.length).toBeGreaterThan(0);
      expect(new Set(records.map((r) => r.environment))).toEqual(new Set(['development']));
      expect((await as(devAdmin.session, { url: '/v1/audit/verify' })).json()).toMatchObject({ status: 403 });
    });

    it('gives a key made for another principal a second factor of its own', async () => {
      const made = (await createKey(devAdmin.session, { name: 'lookalike', principal: 'bootstrap-admin', grants: [{ role: 'admin', environments: ['development'] }] })).json();
      // The bootstrap admin's one-time codes do not open a session for it.
      const session = await as(made.token, { method: 'POST', url: '/v1/sessions', payload: { code: totpCode(service.totpSecret, Date.now() + 30_000) } });
      expect(session.json()).toMatchObject({ status: 403, code: 'totp_not_enrolled' });
      // A key a principal makes for itself uses its own factor.
      const own = (await createKey(devAdmin.session, { name: 'second', principal: 'dev-admin', grants: [{ role: 'deployer', environments: ['development'] }, { role: 'admin', environments: ['development'] }] })).json();
      expect((await as(own.token, { method: 'POST', url: '/v1/sessions', payload: { code: totpCode(devAdmin.totpSecret, Date.now() + 30_000) } })).statusCode).toBe(201);
    });
  });

  it('locks out one-time-code guesses, per principal, and records each refusal', async () => {
    const created = (await createKey(service.adminSession, { name: 'guesser', principal: 'guesser', grants: [{ role: 'admin', environments: ['development'] }] })).json();
    const enrolled = (await as(created.token, { method: 'POST', url: '/v1/mfa/totp' })).json();
    expect((await as(created.token, { method: 'POST', url: '/v1/mfa/totp/confirm', payload: { code: totpCode(enrolled.secret) } })).statusCode).toBe(204);
    const wrong = String((Number(totpCode(enrolled.secret)) + 500_000) % 1_000_000).padStart(6, '0');
    const guess = (code: string, remoteAddress: string) => service.app.inject({ method: 'POST', url: '/v1/sessions', payload: { code }, headers: bearer(created.token), remoteAddress });
    for (let i = 0; i < 3; i++) expect((await guess(wrong, '10.5.5.5')).json().code).toBe('totp_invalid');
    // Even the right code is refused now, from another address too: the principal is locked out.
    const locked = await guess(totpCode(enrolled.secret, Date.now() + 30_000), '10.1.2.3');
    expect(locked.json()).toMatchObject({ status: 429, code: 'locked_out' });
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    const trail = await service.database.db.selectFrom('audit_log').select('reason').where('principal', '=', 'guesser').where('action', '=', 'createSession').execute();
    expect(trail.map((r) => r.reason)).toEqual(['totp_invalid', 'totp_invalid', 'totp_invalid', 'locked_out']);
  });

  it('folds an anonymous flood into one record per kind and source, with its path cut short', async () => {
    const before = await service.database.db.selectFrom('audit_log').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    // Unknown routes are answered 404 unaudited, and parameters past 100 characters 414: the longest target a refusal can carry.
    const path = `/v1/environments/${'x'.repeat(100)}/operations?${'q'.repeat(4000)}`;
    for (let i = 0; i < 30; i++) expect([401, 429]).toContain((await service.app.inject({ url: '/v1/environments', remoteAddress: '10.7.7.7' })).statusCode);
    for (let i = 0; i < 5; i++) expect([401, 429]).toContain((await service.app.inject({ url: path, remoteAddress: '10.7.7.8' })).statusCode);
    const after = await service.database.db.selectFrom('audit_log').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    // Two sources, two kinds each (no credential, then locked out after three): four records for 35 requests.
    expect(Number(after.n) - Number(before.n)).toBeLessThanOrEqual(4);
    const rows = await service.database.db.selectFrom('audit_log').select(['target']).where('source', 'in', ['10.7.7.7', '10.7.7.8']).execute();
    for (const row of rows) expect(row.target.length).toBeLessThanOrEqual(200);
  });

  it('refuses to rotate a key that was already rotated', async () => {
    const ci = (await createKey(service.adminSession, { name: 'ci', principal: 'rotating-ci', grants: [{ role: 'deployer', environments: ['development'] }] })).json();
    expect((await as(ci.token, { method: 'POST', url: `/v1/keys/${ci.key.id}/rotate`, payload: { graceHours: 24 } })).statusCode).toBe(201);
    expect((await as(ci.token, { method: 'POST', url: `/v1/keys/${ci.key.id}/rotate`, payload: { graceHours: 168 } })).json()).toMatchObject({ status: 409, code: 'key_replaced' });
  });

  it('ends a session when its key is rotated out', async () => {
    const made = (await createKey(service.adminSession, { name: 'short', principal: 'rotator', grants: [{ role: 'admin', environments: ['development'] }] })).json();
    const session = await adminSession(service.app, made.token);
    expect((await as(session.token, { url: '/v1/environments' })).statusCode).toBe(200);
    expect((await as(made.token, { method: 'POST', url: `/v1/keys/${made.key.id}/rotate`, payload: { graceHours: 0 } })).statusCode).toBe(201);
    expect((await as(session.token, { url: '/v1/environments', remoteAddress: '10.4.4.4' })).json()).toMatchObject({ status: 401, code: 'credential_rotated' });
  });

  it('refuses OIDC tokens without exp, living too long, or issued in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>) => new SignJWT({ repository: 'toronto/agent', sub: 'repo:toronto/agent', iss: ISSUER, aud: 'stackpilot', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(signingKey);
    for (const [claims, code] of [
      [{ iat: now }, 'token_claim_invalid'],
      [{ iat: now, exp: now + 10 * 365 * 86_400 }, 'token_lifetime_too_long'],
      [{ iat: now + 86_400, exp: now + 86_400 + 300 }, 'token_claim_invalid'],
    ] as const) {
      expect((await as(await sign(claims), { url: '/v1/environments', remoteAddress: `10.6.6.${claims.iat - now > 0 ? 3 : 'exp' in claims ? 2 : 1}` })).json(), JSON.stringify(claims)).toMatchObject({ status: 401, code });
    }
    expect((await as(await sign({ iat: now, exp: now + 300 }), { url: '/v1/environments' })).statusCode).toBe(200);
  });

  it('keeps the audit chain keyed: a record edited and re-hashed in the database does not verify', async () => {
    expect((await service.inject('/v1/audit/verify')).json()).toMatchObject({ valid: true });
    const last = await service.database.db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
    // What an attacker with the database alone can do: change a record and recompute an unkeyed hash.
    const forged = createHash('sha256').update(JSON.stringify([last.prev_hash, Number(last.at), 'nobody', last.credential_id, last.source, last.action, last.target, last.result, last.reason, last.status, last.environment, last.repeats])).digest('hex');
    await sql`update audit_log set principal = 'nobody', hash = ${forged} where seq = ${last.seq}`.execute(service.database.db);
    expect((await service.inject('/v1/audit/verify')).json()).toMatchObject({ valid: false, brokenAt: Number(last.seq) });
    await sql`update audit_log set principal = ${last.principal}, hash = ${last.hash} where seq = ${last.seq}`.execute(service.database.db);
  });

  it('sees the newest records deleted once they were anchored outside the database', async () => {
    await service.audit.anchor();
    const newest = await service.database.db.selectFrom('audit_log').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
    await sql`delete from audit_log where seq = ${newest.seq}`.execute(service.database.db);
    expect((await service.inject('/v1/audit/verify')).json()).toMatchObject({ valid: false, truncated: true, anchoredThrough: Number(newest.seq) });
  });

  it('fails a mutation whose audit record cannot be written, and lets it take no effect', async () => {
    const before = (await service.inject('/v1/keys')).json().items.length;
    // Make every audit insert fail, as a full disk or a broken table would.
    if (database === 'postgres') {
      await sql`create function refuse_audit() returns trigger as 'begin raise exception ''audit unavailable''; end' language plpgsql`.execute(service.database.db);
      await sql`create trigger refuse_audit before insert on audit_log for each row execute function refuse_audit()`.execute(service.database.db);
    } else {
      await sql`create trigger refuse_audit before insert on audit_log begin select raise(abort, 'audit unavailable'); end`.execute(service.database.db);
    }
    try {
      const created = await createKey(service.adminSession, { name: 'unrecorded', principal: 'ghost', grants: [{ role: 'viewer', environments: '*' }] });
      expect(created.statusCode).toBe(500);
      expect(JSON.stringify(created.json())).not.toContain('sp_');
    } finally {
      await sql`drop trigger refuse_audit${sql.raw(database === 'postgres' ? ' on audit_log' : '')}`.execute(service.database.db);
    }
    expect((await service.inject('/v1/keys')).json().items.length).toBe(before);
    expect((await service.inject('/v1/keys')).json().items.map((k: { principal: string }) => k.principal)).not.toContain('ghost');
  });

  it('closes a finished operation\'s stream resumed at its end at once, caps streams per principal, and ends a stream whose key is revoked', async () => {
    const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/testing/operations', payload: { type: 'preview' } })).json();
    const done = (await service.inject(`/v1/operations/${id}?wait=60`)).json();
    expect(done.status).toBe('succeeded');
    const all = parseSse((await service.inject(`/v1/operations/${id}/events`)).body);
    const last = all.at(-1)!.id!;
    for (const headers of [{ 'last-event-id': last }, { 'last-event-id': '999999' }]) {
      const resumed = await service.inject({ url: `/v1/operations/${id}/events`, headers });
      expect(parseSse(resumed.body)).toEqual([]);
    }
    expect(parseSse((await service.inject(`/v1/operations/${id}/events?after=999999`)).body)).toEqual([]);

    // A viewer's streams of an operation that runs a while: two at once, not three; revoked, they end before it does.
    const viewer = (await createKey(service.adminSession, { name: 'watcher', principal: 'watcher', grants: [{ role: 'viewer', environments: '*' }] })).json();
    const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
    const { id: running } = (await service.inject({ method: 'POST', url: '/v1/environments/staging/operations', payload: { type: 'update' } })).json();
    const open = () => fetch(`${address}/v1/operations/${running}/events`, { headers: { accept: 'text/event-stream', ...bearer(viewer.token) } });
    const streams = [await open(), await open()];
    expect(streams.map((s) => s.status)).toEqual([200, 200]);
    const third = await open();
    expect(third.status).toBe(429);
    expect((await third.json()).code).toBe('too_many_streams');
    await service.inject({ method: 'DELETE', url: `/v1/keys/${viewer.key.id}` });
    for (const stream of streams) expect(await stream.text()).not.toContain('event: result'); // ended at the next check
    await service.inject({ method: 'POST', url: `/v1/operations/${running}/cancel` });
    await service.inject(`/v1/operations/${running}?wait=60`);
  });

  it('uses Idempotency-Keys per environment and principal: one cannot block or probe another\'s', async () => {
    const devDeployer = (await createKey(service.adminSession, { name: 'd', principal: 'dev-deployer', grants: [{ role: 'deployer', environments: ['development'] }] })).json();
    const first = await as(devDeployer.token, { method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'preview' }, headers: { 'idempotency-key': 'release-42' } });
    expect(first.statusCode).toBe(202);
    const other = await service.inject({ method: 'POST', url: '/v1/environments/testing/operations', payload: { type: 'update' }, headers: { 'idempotency-key': 'release-42' } });
    expect(other.statusCode).toBe(202);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(other.json().id).not.toBe(first.json().id);
    await service.inject(`/v1/operations/${other.json().id}?wait=60`);
  });

  it('answers cancel of a hidden operation as GET does', async () => {
    const devViewer = (await createKey(service.adminSession, { name: 'v', principal: 'dev-viewer', grants: [{ role: 'viewer', environments: ['development'] }] })).json();
    const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/staging/operations', payload: { type: 'preview' } })).json();
    const read = await as(devViewer.token, { url: `/v1/operations/${id}` });
    const cancel = await as(devViewer.token, { method: 'POST', url: `/v1/operations/${id}/cancel` });
    const missing = await as(devViewer.token, { method: 'POST', url: '/v1/operations/00000000-0000-4000-8000-000000000099/cancel' });
    for (const response of [read, cancel, missing]) expect(response.json()).toMatchObject({ status: 404, code: 'operation_not_found' });
  });

  it('refuses control characters in a message, and a long or odd X-Request-Id', async () => {
    const nul = await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'preview', message: 'deploy\u0000now' } });
    expect(nul.json()).toMatchObject({ status: 400, code: 'invalid_request', field: 'body.message' });
    const long = await service.inject({ url: '/v1/environments/qa', headers: { 'x-request-id': 'r'.repeat(4000) } });
    expect(long.json().requestId).not.toContain('rrrr');
    const kept = await service.inject({ url: '/v1/environments/qa', headers: { 'x-request-id': 'ci-run-42.3' } });
    expect(kept.json().requestId).toBe('ci-run-42.3');
  });
});

describe('the bootstrap key', () => {
  it('revokes the previous bootstrap key when STACKPILOT_BOOTSTRAP_ADMIN_KEY changes', async () => {
    const first = await startTestService({ database: 'sqlite' });
    const oldKey = first.adminKey;
    const { config } = first;
    await first.stop(100);
    const next = await startService({ ...config, bootstrapAdminKey: newKeyToken() }, createLogger('silent'));
    try {
      expect((await next.app.inject({ url: '/v1/environments', headers: bearer(oldKey) })).json()).toMatchObject({ status: 401, code: 'credential_revoked' });
    } finally {
      await next.stop(100);
      first.program.remove();
    }
  });
});
