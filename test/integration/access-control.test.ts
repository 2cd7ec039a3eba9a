// Access control, refusal by refusal, each one checked in the audit trail: keys (missing,
// malformed, unknown, expired, revoked, rotated out), roles per environment (viewers on every
// mutating route, deployers on production, hidden environments), the second factor (missing,
// wrong, reused and expired codes, ended sessions), OIDC tokens (bad signature, audience,
// issuer, expiry) against a local JWKS, rate limits, lockout, fail-closed start-up, and the
// audit chain's tamper check.
import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { sql } from 'kysely';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService } from '../../src/service.js';
import { bearer, newKeyToken, totpCode } from '../support/credentials.js';
import { DATABASES } from '../support/databases.js';
import { copyProgram } from '../support/programs.js';
import { startTestService, TEST_PASSPHRASE, type TestService } from '../support/service.js';

const ISSUER = 'https://ci.stackpilot.test';
const AUDIENCE = 'stackpilot';

describe.each(DATABASES)('access control on %s', (database) => {
  let service: TestService;
  let jwks: FastifyInstance;
  let signingKey: CryptoKey;
  const keys: Record<string, { id: string; token: string }> = {};

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    signingKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'ci-1', alg: 'ES256', use: 'sig' };
    jwks = Fastify();
    jwks.get('/jwks', async () => ({ keys: [jwk] }));
    const jwksUrl = await jwks.listen({ host: '127.0.0.1', port: 0 });
    service = await startTestService({
      database,
      config: {
        oidcIssuers: [{
          issuer: ISSUER, audience: AUDIENCE, jwksUri: `${jwksUrl}/jwks`,
          rules: [{ claims: { repository: 'toronto/agent', ref: 'refs/heads/main' }, grants: [{ role: 'deployer', environments: ['development'] }] }],
        }],
        lockoutMaxFailures: 1000, // this suite fails on purpose many times; the lockout has its own below
      },
    });
    const grants = {
      viewer: [{ role: 'viewer', environments: '*' }],
      deployer: [{ role: 'deployer', environments: '*' }],
      productionDeployer: [{ role: 'deployer', environments: ['production'] }],
      developmentViewer: [{ role: 'viewer', environments: ['development'] }],
    };
    for (const [name, g] of Object.entries(grants)) {
      const created = await service.inject({ method: 'POST', url: '/v1/keys', payload: { name, principal: name, grants: g, expiresInDays: 30 } });
      expect(created.statusCode, created.body).toBe(201);
      keys[name] = { id: created.json().key.id, token: created.json().token };
    }
  });
  afterAll(async () => {
    await service?.close();
    await jwks?.close();
  });

  const as = (token: string | undefined, request: { method?: 'GET' | 'POST' | 'DELETE'; url: string; payload?: object }) =>
    service.app.inject({ ...request, headers: token === undefined ? {} : bearer(token) });
  const refusalsFor = async (principal: string) =>
    (await service.inject({ url: `/v1/audit?result=refused&principal=${encodeURIComponent(principal)}&limit=100` })).json().items as Array<{ status: number; action: string; reason: string; credentialId: string | null }>;
  const reasonsFor = async (principal: string) => new Set((await refusalsFor(principal)).map((r) => r.reason));

  it('answers no credential, a malformed one and an unknown key with 401, and audits each', async () => {
    for (const [header, code] of [
      [undefined, 'credential_missing'], ['Basic dXNlcjpwYXNz', 'credential_malformed'], ['Bearer sp_short', 'credential_malformed'],
      [`Bearer ${newKeyToken()}`, 'credential_invalid'], ['Bearer not-a-token', 'credential_malformed'],
    ] as const) {
      const response = await service.app.inject({ url: '/v1/environments', headers: header ? { authorization: header } : {} });
      expect(response.statusCode).toBe(401);
      expect(response.json().code).toBe(code);
      expect(response.headers['www-authenticate']).toContain('Bearer');
    }
    // Each kind of anonymous refusal is on record (repeats of a kind are folded: see the security suite).
    expect([...(await reasonsFor('anonymous'))]).toEqual(expect.arrayContaining(['credential_missing', 'credential_malformed', 'credential_invalid']));
  });

  it('keeps health, readiness and the spec open', async () => {
    for (const url of ['/healthz', '/readyz', '/openapi.json', '/docs/']) expect((await as(undefined, { url })).statusCode, url).toBe(200);
  });

  it('refuses an expired key', async () => {
    const created = (await service.inject({ method: 'POST', url: '/v1/keys', payload: { name: 'old', principal: 'old-ci', grants: [{ role: 'viewer', environments: '*' }], expiresInDays: 1 } })).json();
    expect((await as(created.token, { url: '/v1/environments' })).statusCode).toBe(200);
    await service.database.db.updateTable('api_keys').set({ expires_at: Date.now() - 1000 }).where('id', '=', created.key.id).execute(); // a day passes
    const response = await as(created.token, { url: '/v1/environments' });
    expect(response.json()).toMatchObject({ status: 401, code: 'credential_expired' });
    // The trail names whose key it was, though the caller is not told.
    expect(await refusalsFor('old-ci')).toEqual([expect.objectContaining({ status: 401, reason: 'credential_expired', credentialId: created.key.id })]);
  });

  it('caps expiry at a year and records last use', async () => {
    await as(keys.viewer!.token, { url: '/v1/environments' });
    const tooLong = await service.inject({ method: 'POST', url: '/v1/keys', payload: { name: 'x', principal: 'x', grants: [{ role: 'viewer', environments: '*' }], expiresInDays: 400 } });
    expect(tooLong.json()).toMatchObject({ status: 400, field: 'body.expiresInDays' });
    const listed = (await service.inject({ url: '/v1/keys' })).json().items as Array<{ id: string; lastUsedAt: string | null }>;
    expect(listed.find((k) => k.id === keys.viewer!.id)?.lastUsedAt).not.toBeNull();
  });

  it('stops a revoked key on the next request', async () => {
    const created = (await service.inject({ method: 'POST', url: '/v1/keys', payload: { name: 'temp', principal: 'temp', grants: [{ role: 'viewer', environments: '*' }] } })).json();
    expect((await as(created.token, { url: '/v1/environments' })).statusCode).toBe(200);
    expect((await service.inject({ method: 'DELETE', url: `/v1/keys/${created.key.id}` })).statusCode).toBe(200);
    expect((await as(created.token, { url: '/v1/environments' })).json()).toMatchObject({ status: 401, code: 'credential_revoked' });
    expect(await reasonsFor('temp')).toEqual(new Set(['credential_revoked']));
  });

  it('rotates a key: the old one works through its grace period, then stops', async () => {
    const ci = (await service.inject({ method: 'POST', url: '/v1/keys', payload: { name: 'ci', principal: 'ci', grants: [{ role: 'deployer', environments: ['development'] }] } })).json();
    // A key rotates itself: no admin needed, so CI can swap its own secret.
    const rotated = await as(ci.token, { method: 'POST', url: `/v1/keys/${ci.key.id}/rotate`, payload: { graceHours: 24 } });
    expect(rotated.statusCode).toBe(201);
    const fresh = rotated.json();
    expect(fresh.key.grants).toEqual(ci.key.grants);
    expect((await as(ci.token, { url: '/v1/environments' })).statusCode).toBe(200); // in its grace period
    expect((await as(fresh.token, { url: '/v1/environments' })).statusCode).toBe(200);
    await service.database.db.updateTable('api_keys').set({ grace_until: Date.now() - 1000 }).where('id', '=', ci.key.id).execute();
    expect((await as(ci.token, { url: '/v1/environments' })).json()).toMatchObject({ status: 401, code: 'credential_rotated' });
    expect(await reasonsFor('ci')).toContain('credential_rotated');
    // Another principal's key is not yours to rotate.
    expect((await as(fresh.token, { method: 'POST', url: `/v1/keys/${keys.viewer!.id}/rotate`, payload: {} })).statusCode).toBe(403);
  });

  it('refuses a viewer every mutating route, and audits each refusal', async () => {
    const viewer = keys.viewer!.token;
    const { id: operationId } = (await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'preview' } })).json();
    const attempts = [
      ...['preview', 'update', 'refresh', 'destroy'].map((type) => ({ method: 'POST' as const, url: '/v1/environments/development/operations', payload: { type } })),
      { method: 'POST' as const, url: `/v1/operations/${operationId}/cancel` },
      { method: 'POST' as const, url: '/v1/keys', payload: { name: 'n', principal: 'p', grants: [{ role: 'admin', environments: '*' }] } },
      { method: 'DELETE' as const, url: `/v1/keys/${keys.deployer!.id}` },
      { method: 'POST' as const, url: `/v1/keys/${keys.deployer!.id}/rotate`, payload: {} },
      { method: 'GET' as const, url: '/v1/audit' },
    ];
    for (const attempt of attempts) {
      const response = await as(viewer, attempt);
      expect(response.statusCode, `${attempt.method} ${attempt.url}`).toBe(403);
    }
    expect((await as(viewer, { url: '/v1/environments' })).json().items).toHaveLength(4);
    const refused = await refusalsFor('viewer');
    expect(refused.filter((r) => r.status === 403).map((r) => r.action)).toEqual(expect.arrayContaining(['createOperation', 'cancelOperation', 'createKey', 'revokeKey', 'rotateKey', 'listAudit']));
    expect(refused.filter((r) => r.status === 403)).toHaveLength(attempts.length);
    expect(await reasonsFor('viewer')).toEqual(new Set(['forbidden']));
  });

  it('lets only a grant that names production change it', async () => {
    const wildcard = await as(keys.deployer!.token, { method: 'POST', url: '/v1/environments/production/operations', payload: { type: 'preview' } });
    expect(wildcard.json()).toMatchObject({ status: 403, code: 'forbidden' });
    expect((await as(keys.deployer!.token, { url: '/v1/environments/production' })).statusCode).toBe(200); // "*" still reads it
    const named = await as(keys.productionDeployer!.token, { method: 'POST', url: '/v1/environments/production/operations', payload: { type: 'preview' } });
    expect(named.statusCode).toBe(202);
    expect(named.json().requestedBy).toBe('productionDeployer');
    expect((await refusalsFor('deployer')).some((r) => r.status === 403 && r.action === 'createOperation' && r.reason === 'forbidden')).toBe(true);
  });

  it('hides environments a caller cannot see behind the same 404 as unknown ones', async () => {
    const dev = keys.developmentViewer!.token;
    expect((await as(dev, { url: '/v1/environments' })).json().items.map((e: { name: string }) => e.name)).toEqual(['development']);
    const hidden = await as(dev, { url: '/v1/environments/staging' });
    const unknown = await as(dev, { url: '/v1/environments/qa' });
    expect(hidden.json()).toMatchObject({ status: 404, code: 'environment_not_found' });
    expect(unknown.json()).toMatchObject({ status: 404, code: 'environment_not_found' });
    const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/staging/operations', payload: { type: 'preview' } })).json();
    expect((await as(dev, { url: `/v1/operations/${id}` })).json()).toMatchObject({ status: 404, code: 'operation_not_found' });
    // All three are refusals on the record: the trail cannot tell them apart either.
    expect((await refusalsFor('developmentViewer')).filter((r) => r.status === 404)).toHaveLength(3);
    expect(await reasonsFor('developmentViewer')).toEqual(new Set(['environment_not_found', 'operation_not_found']));
  });

  it('requires a second factor for admin actions and destroy', async () => {
    for (const request of [
      { method: 'POST' as const, url: '/v1/keys', payload: { name: 'n', principal: 'p', grants: [{ role: 'viewer', environments: '*' }] } },
      { method: 'POST' as const, url: '/v1/environments/development/operations', payload: { type: 'destroy' } },
      { method: 'GET' as const, url: '/v1/audit' },
    ]) {
      expect((await as(service.adminKey, request)).json(), request.url).toMatchObject({ status: 403, code: 'second_factor_required' });
    }
    expect((await refusalsFor('bootstrap-admin')).filter((r) => r.reason === 'second_factor_required')).toHaveLength(3);
  });

  it('refuses wrong, reused and expired one-time codes', async () => {
    const open = (code: string) => as(service.adminKey, { method: 'POST', url: '/v1/sessions', payload: { code } });
    const wrong = String((Number(totpCode(service.totpSecret)) + 1) % 1_000_000).padStart(6, '0');
    expect((await open(wrong)).json()).toMatchObject({ status: 401, code: 'totp_invalid' });
    expect((await open(totpCode(service.totpSecret, Date.now() - 10 * 60_000))).json()).toMatchObject({ status: 401, code: 'totp_invalid' });
    // The code that opened the test service's own session cannot be used again.
    expect((await open(service.usedCode)).json()).toMatchObject({ status: 401, code: 'totp_reused' });
    expect((await open('12345')).statusCode).toBe(400);
    expect((await refusalsFor('bootstrap-admin')).filter((r) => r.status === 401 && r.action === 'createSession').map((r) => r.reason).sort())
      .toEqual(['totp_invalid', 'totp_invalid', 'totp_reused']);
  });

  it('ends sessions at their lifetime and after idling', async () => {
    for (const [column, code] of [['expires_at', 'session_expired'], ['last_seen_at', 'session_idle']] as const) {
      const session = await service.database.db.selectFrom('sessions').selectAll().where('hash', '=', hashKey(service.adminSession)).executeTakeFirstOrThrow();
      const before = session[column];
      await service.database.db.updateTable('sessions').set({ [column]: column === 'expires_at' ? Date.now() - 1 : Date.now() - 3_600_000 }).where('id', '=', session.id).execute();
      expect((await service.inject({ url: '/v1/keys' })).json()).toMatchObject({ status: 401, code });
      await service.database.db.updateTable('sessions').set({ [column]: before }).where('id', '=', session.id).execute();
    }
    expect((await service.inject({ url: '/v1/keys' })).statusCode).toBe(200);
    expect([...(await reasonsFor('bootstrap-admin'))]).toEqual(expect.arrayContaining(['session_expired', 'session_idle']));
  });

  it('maps a verified OIDC token to grants by its claims, and refuses bad ones', async () => {
    const token = (claims: Record<string, unknown>, options: { issuer?: string; audience?: string; expires?: string; key?: CryptoKey } = {}) =>
      new SignJWT({ repository: 'toronto/agent', ref: 'refs/heads/main', ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'ci-1' }).setSubject('repo:toronto/agent:ref:refs/heads/main')
        .setIssuer(options.issuer ?? ISSUER).setAudience(options.audience ?? AUDIENCE).setIssuedAt()
        .setExpirationTime(options.expires ?? '5m').sign(options.key ?? signingKey);

    const good = await token({});
    const created = await as(good, { method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'preview' } });
    expect(created.statusCode, created.body).toBe(202);
    expect(created.json().requestedBy).toBe('oidc:repo:toronto/agent:ref:refs/heads/main');
    expect((await as(good, { method: 'POST', url: '/v1/environments/staging/operations', payload: { type: 'preview' } })).statusCode).toBe(404);

    const other = (await generateKeyPair('ES256')).privateKey;
    const cases: Array<[Promise<string>, number, string]> = [
      [token({}, { key: other }), 401, 'token_invalid'],
      [token({}, { audience: 'someone-else' }), 401, 'token_claim_invalid'],
      [token({}, { issuer: 'https://evil.example' }), 401, 'token_issuer_unknown'],
      [token({}, { expires: Math.floor(Date.now() / 1000) - 600 as unknown as string }), 401, 'token_expired'],
      [token({ ref: 'refs/heads/feature' }), 403, 'token_no_rule'],
    ];
    for (const [jwt, status, code] of cases) {
      const response = await as(await jwt, { url: '/v1/environments' });
      expect(response.json(), code).toMatchObject({ status, code });
    }
    expect([...(await reasonsFor('anonymous'))]).toEqual(expect.arrayContaining(cases.map(([, , code]) => code)));
  });

  it('keeps a tamper-evident audit chain', async () => {
    const before = (await service.inject({ url: '/v1/audit/verify' })).json();
    expect(before, JSON.stringify(before)).toMatchObject({ valid: true, brokenAt: null });
    const victim = await service.database.db.selectFrom('audit_log').select('seq').where('result', '=', 'refused').orderBy('seq').limit(1).executeTakeFirstOrThrow();
    await sql`update audit_log set principal = 'somebody-else' where seq = ${victim.seq}`.execute(service.database.db);
    expect((await service.inject({ url: '/v1/audit/verify' })).json()).toMatchObject({ valid: false, brokenAt: victim.seq });
  });

  it('stores no key, session token or TOTP seed in clear text, and logs none', async () => {
    const dump = JSON.stringify(await Promise.all(['api_keys', 'sessions', 'totp_enrolments', 'audit_log'].map(async (table) =>
      (await sql`select * from ${sql.table(table)}`.execute(service.database.db)).rows)));
    const logs = service.logs.join('\n');
    for (const secret of [...Object.values(keys).map((k) => k.token), service.adminKey, service.adminSession, service.totpSecret]) {
      expect(dump).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });
});

describe.each(DATABASES)('abuse limits on %s', (database) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ database, config: { rateLimitPerMinute: 5, lockoutMaxFailures: 3 } });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('rate-limits a principal with 429 and Retry-After', async () => {
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 8; i++) {
      last = await service.app.inject({ url: '/v1/environments', headers: bearer(service.adminKey) });
      statuses.push(last.statusCode);
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(last!.json()).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    const trail = await service.database.db.selectFrom('audit_log').select(['principal', 'reason']).where('status', '=', 429).execute();
    expect(trail).toContainEqual({ principal: 'bootstrap-admin', reason: 'rate_limited' });
  });

  it('locks out a source after repeated authentication failures, valid key or not', async () => {
    for (let i = 0; i < 3; i++) expect((await service.app.inject({ url: '/v1/environments', headers: bearer(newKeyToken()), remoteAddress: '10.9.9.9' })).statusCode).toBe(401);
    const locked = await service.app.inject({ url: '/v1/environments', headers: bearer(service.adminKey), remoteAddress: '10.9.9.9' });
    expect(locked.json()).toMatchObject({ status: 429, code: 'locked_out' });
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    // The source is anonymous: its first refusal of each kind is on record at once, the repeats folded into one record later.
    const trail = await service.database.db.selectFrom('audit_log').select(['source', 'reason']).where('source', '=', '10.9.9.9').orderBy('seq').execute();
    expect(trail.map((r) => r.reason)).toEqual(['credential_invalid', 'locked_out']);
  });
});

describe('fail closed', () => {
  it('serves no API without any credential configured, and says why in the log', async () => {
    const program = copyProgram('service-project');
    const lines: string[] = [];
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    const config = loadConfig({ PATH: process.env.PATH }, {
      dataDir: `${program.dir}/../data`, projectDir: program.dir, stateBackendUrl: program.backendUrl, secretsPassphrase: TEST_PASSPHRASE,
    });
    const service = await startService(config, createLogger('info', sink));
    try {
      const refused = await service.app.inject({ url: '/v1/environments', headers: bearer(newKeyToken()) });
      expect(refused.json()).toMatchObject({ status: 503, code: 'no_credentials_configured' });
      expect((await service.app.inject({ url: '/healthz' })).statusCode).toBe(200);
      expect(lines.join('')).toContain('refusing to serve the API');
    } finally {
      await service.stop(100);
      program.remove();
    }
  });
});
