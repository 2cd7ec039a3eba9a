// Configuration versions, releases, promotion and rollback through the API, with the real
// engine on each database (no environment protected here: approvals.test.ts covers those).
// The fixture's outputs stand in for the images: `workloadGeneration` is what a release ships.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { settled } from '../support/releases.js';
import { startTestService, type TestService } from '../support/service.js';

describe.each(DATABASES)('releases API on %s', (database) => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ database, config: { promotableKeys: ['workloadGeneration'] } });
  });
  afterAll(async () => {
    await service?.close();
  });

  const config = (env: string, path = '') => service.inject({ url: `/v1/environments/${env}/config${path}` });
  const patch = (env: string, ifMatch: string | undefined, payload: object) =>
    service.inject({ method: 'PATCH', url: `/v1/environments/${env}/config`, headers: ifMatch ? { 'if-match': ifMatch } : {}, payload });
  const deploy = async (env: string, payload: object) => {
    const response = await service.inject({ method: 'POST', url: `/v1/environments/${env}/operations`, payload: { type: 'update', ...payload } });
    expect(response.statusCode, response.body).toBe(202);
    return settled(service, response.json().id);
  };
  const post = (url: string, payload: object) => service.inject({ method: 'POST', url, payload });
  const outputs = async (env: string) => (await service.inject({ url: `/v1/environments/${env}` })).json().outputs;
  const releases = async (env: string) => (await service.inject({ url: `/v1/environments/${env}/releases` })).json().items;

  it('starts from the stack file, changes only with the latest version in If-Match, and keeps secrets ciphertext', async () => {
    const first = await config('development');
    expect(first.statusCode).toBe(200);
    expect(first.headers.etag).toBe('"1"');
    expect(first.json()).toMatchObject({ version: 1, author: 'file', values: { sleepMs: '0' } });
    expect((await patch('development', undefined, { set: { a: 'b' } })).statusCode).toBe(428);
    const changed = await patch('development', '"1"', { set: { 'layer.name': 'web', 'layer.ports[0]': 80 }, secrets: { token: 'hunter2-canary' }, message: 'first change' });
    expect(changed.statusCode, changed.body).toBe(201);
    expect(changed.headers.etag).toBe('"2"');
    expect(changed.json()).toMatchObject({ version: 2, message: 'first change', values: { 'layer.name': 'web', 'layer.ports[0]': 80, token: '[secret]' } });
    const stale = await patch('development', '"1"', { set: { a: 'b' } });
    expect(stale.statusCode).toBe(412);
    expect(stale.json().code).toBe('config_version_stale');
    expect((await config('development')).json().version).toBe(2);
    const again = await patch('development', '2', { secrets: { token: 'another-canary' }, unset: ['layer.ports'] });
    expect(again.statusCode, again.body).toBe(201);
    const diff = (await config('development', '/diff?from=1&to=3')).json();
    expect(diff).toEqual({ from: 1, to: 3, added: ['layer.name', 'token'], changed: [], removed: [] });
    expect((await config('development', '/diff?from=2&to=3')).json()).toMatchObject({ changed: ['token'], removed: ['layer.ports[0]'] });
    const page = (await config('development', '/versions?limit=2')).json();
    expect(page.items.map((v: { version: number }) => v.version)).toEqual([3, 2]);
    const rest = (await config('development', `/versions?limit=2&cursor=${page.nextCursor}`)).json();
    expect(rest).toMatchObject({ items: [{ version: 1 }], nextCursor: null });
    expect((await config('development', '/versions/2')).json().values.token).toBe('[secret]');
    expect(JSON.stringify(await service.database.db.selectFrom('config_versions').selectAll().execute())).not.toMatch(/hunter2|another-canary/);
  });

  it('deploys a new setting in one call, as a new version the operation and its release record', async () => {
    const done = await deploy('development', { config: { set: { workloadGeneration: 'g2' }, message: 'ci build 2' } });
    expect(done.status, done.error).toBe('succeeded');
    expect(done.configVersion).toBe(4);
    expect(done.programDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(await outputs('development')).toMatchObject({ workloadGeneration: 'g2' });
    const [release] = await releases('development');
    expect(release).toMatchObject({ number: 1, status: 'current', configVersion: 4, programDigest: done.programDigest, operationId: done.id });
    expect((await service.inject({ url: '/v1/environments/development' })).json().currentRelease).toMatchObject({ id: release.id });
    expect((await config('development')).json()).toMatchObject({ version: 4, message: 'ci build 2' });
  });

  it('promotes along the pipeline only, carrying the promotable keys', async () => {
    const pipeline = (await service.inject({ url: '/v1/pipeline' })).json().stages;
    expect(pipeline.map((s: { environment: string }) => s.environment)).toEqual(['development', 'testing', 'staging', 'production']);
    expect(pipeline[1]).toMatchObject({ currentRelease: null, promotion: { from: 'development', changes: { workloadGeneration: [null, 'g2'] } } });
    const promoted = await post('/v1/environments/testing/promotions', { message: 'alpha' });
    expect(promoted.statusCode, promoted.body).toBe(202);
    expect(promoted.json().spec.promotion).toMatchObject({ from: 'development' });
    expect((await settled(service, promoted.json().id)).status).toBe('succeeded');
    expect(await outputs('testing')).toMatchObject({ workloadGeneration: 'g2' });

    const backwards = await post('/v1/environments/development/promotions', { from: 'testing' });
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json()).toMatchObject({ code: 'promotion_out_of_order', field: 'from' });
    const skipped = await post('/v1/environments/production/promotions', {});
    expect(skipped.statusCode).toBe(409);
    expect(skipped.json().code).toBe('no_current_release');
  });

  it('rolls back to the previous release, and the release it left becomes rolled_back', async () => {
    const second = await deploy('development', { config: { set: { workloadGeneration: 'g3' } } });
    expect(second.status).toBe('succeeded');
    const rolledBack = await post('/v1/environments/development/rollbacks', { release: 'previous', message: 'g3 misbehaves' });
    expect(rolledBack.statusCode, rolledBack.body).toBe(202);
    const done = await settled(service, rolledBack.json().id);
    expect(done.status, done.error).toBe('succeeded');
    expect(await outputs('development')).toMatchObject({ workloadGeneration: 'g2' });
    const [now, left, first] = await releases('development');
    expect(now).toMatchObject({ number: 3, status: 'current', configVersion: done.configVersion });
    expect(left).toMatchObject({ number: 2, status: 'rolled_back' });
    expect(first).toMatchObject({ number: 1, status: 'superseded' });
    expect((await config('development')).json()).toMatchObject({ author: 'rollback', values: { workloadGeneration: 'g2' } });
    const current = await post('/v1/environments/development/rollbacks', { release: now.id });
    expect(current.json().code).toBe('release_is_current');
    const unknown = await post('/v1/environments/development/rollbacks', { release: '00000000-0000-4000-8000-000000000000' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('release_not_found');
  });

  it('deploys an old release from its program snapshot after the program changed, and never against other dependencies', async () => {
    const index = join(service.program.dir, 'index.js');
    const [before] = await releases('development');
    writeFileSync(index, readFileSync(index, 'utf8').replace('greeting: `hello from', 'greeting: `changed program, hello from'));
    const changed = await deploy('development', { config: { set: { workloadGeneration: 'g4' } } });
    expect(changed.programDigest).not.toBe(before.programDigest);
    expect((await outputs('development')).greeting).toBe('changed program, hello from development');

    const back = await settled(service, (await post('/v1/environments/development/rollbacks', { release: before.id })).json().id);
    expect(back.status, back.error).toBe('succeeded');
    expect(back.programDigest).toBe(before.programDigest);
    expect(await outputs('development')).toMatchObject({ greeting: 'hello from development', workloadGeneration: 'g2' });

    // The installed dependencies change: a snapshot locked with others is refused, and nothing runs.
    writeFileSync(join(service.program.dir, 'package-lock.json'), JSON.stringify({ name: 'fixture-project', lockfileVersion: 3, packages: {} }));
    const [, , , , locked] = await releases('development');
    const refused = await settled(service, (await post('/v1/environments/development/rollbacks', { release: locked.id })).json().id);
    expect(refused).toMatchObject({ status: 'failed', errorCode: 'dependencies_changed' });
    expect(refused.error).toMatch(/package-lock\.json differs/);
  });

  it('refuses bad input with problem+json and writes nothing', async () => {
    const versions = async () => (await config('development')).json().version;
    const start = await versions();
    const cases: Array<[string, object, number, string]> = [
      ['an invalid config path', { set: { 'bad path!': 'x' } }, 400, 'invalid_config_path'],
      ['an invalid path to unset', { unset: ['a..b'] }, 400, 'invalid_request'],
      ['an oversized value', { set: { big: 'x'.repeat(5000) } }, 400, 'invalid_config_value'],
      ['an object value', { set: { big: { nested: true } } }, 400, 'invalid_config_value'],
      ['nothing to change', {}, 400, 'empty_config_change'],
    ];
    for (const [what, payload, status, code] of cases) {
      const response = await patch('development', `"${start}"`, payload);
      expect(response.statusCode, what).toBe(status);
      expect(response.headers['content-type'], what).toContain('application/problem+json');
      expect(response.json().code, what).toBe(code);
    }
    const inOperation = await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'update', config: { set: { 'a..b': 1 } } } });
    expect(inOperation.statusCode).toBe(400);
    const unknownVersion = await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'update', configVersion: 999 } });
    expect(unknownVersion.statusCode).toBe(404);
    expect(unknownVersion.json().code).toBe('config_version_not_found');
    expect((await config('development', '/versions/999')).statusCode).toBe(404);
    expect((await service.inject({ url: '/v1/environments/development/releases/00000000-0000-4000-8000-000000000000' })).statusCode).toBe(404);
    expect(await versions()).toBe(start);
    expect((await service.inject({ url: '/v1/environments/development' })).json().queueLength).toBe(0);
  });
});
