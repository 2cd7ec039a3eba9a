// State backups and restores with the real engine, on each database: a backup after every
// mutating operation (none after a preview), content-addressed files that keep secrets as
// ciphertext, downloads for admins only, retention that keeps the newest and every release's,
// and restores that really bring the old state back, or refuse with nothing written.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupRepository } from '../../src/store/backup-repository.js';
import { DATABASES } from '../support/databases.js';
import { person, settled } from '../support/releases.js';
import { startTestService, type TestService } from '../support/service.js';

describe.each(DATABASES)('state backups and restores on %s', (database) => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ database });
  });
  afterAll(async () => {
    await service?.close();
  });

  const run = async (env: string, payload: object) => {
    const response = await service.inject({ method: 'POST', url: `/v1/environments/${env}/operations`, payload });
    expect(response.statusCode, response.body).toBe(202);
    return settled(service, response.json().id);
  };
  const backups = async (env: string) => (await service.inject({ url: `/v1/environments/${env}/backups?limit=100` })).json().items as Array<Record<string, any>>;
  const restore = (env: string, payload: object, headers: Record<string, string> = {}) =>
    service.inject({ method: 'POST', url: `/v1/environments/${env}/restores`, payload, headers });
  const stackOutputs = async (env: string) => {
    const state = JSON.parse(await service.engine.exportState(env));
    return state.deployment.resources.find((r: { type: string }) => r.type === 'pulumi:pulumi:Stack').outputs;
  };
  const operationCount = async () => Number((await service.database.db.selectFrom('operations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst())?.n);

  let first: Record<string, any>;

  it('backs up the state after every mutating operation, never after a preview', async () => {
    const updated = await run('development', { type: 'update', config: { set: { infraGeneration: 'g1' } } });
    expect(updated.status, updated.error).toBe('succeeded');
    expect((await run('development', { type: 'preview' })).status).toBe('succeeded');
    const list = await backups('development');
    expect(list).toHaveLength(1);
    first = list[0]!;
    expect(first).toMatchObject({ environment: 'development', operationId: updated.id, reason: 'after_operation' });
    expect(first.resourceCount).toBeGreaterThan(2);
    const file = service.recovery.backups.fileOf(first.sha256);
    expect(file.startsWith(service.config.backupDir!)).toBe(true);
    const content = readFileSync(file, 'utf8');
    expect(createHash('sha256').update(content).digest('hex')).toBe(first.sha256);
    expect(first.size).toBe(Buffer.byteLength(content));
  });

  it('lets admins download a backup, byte for byte, and nobody else', async () => {
    const url = `/v1/environments/development/backups/${first.id}`;
    const downloaded = await service.inject({ url });
    expect(downloaded.statusCode, downloaded.body).toBe(200);
    expect(downloaded.headers['content-type']).toMatch(/^application\/json/);
    expect(downloaded.headers['x-content-sha256']).toBe(first.sha256);
    expect(createHash('sha256').update(downloaded.body).digest('hex')).toBe(first.sha256);
    expect(downloaded.json().deployment.resources.length).toBe(first.resourceCount);
    const deployer = await person(service, 'deployer-backups', [{ role: 'deployer', environments: ['development'] }]);
    expect((await deployer.request({ url: '/v1/environments/development/backups' })).statusCode).toBe(200);
    const refused = await deployer.request({ url });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('forbidden');
    expect((await service.inject({ url: `/v1/environments/testing/backups/${first.id}` })).json().code).toBe('backup_not_found');
  });

  it('restores an earlier state: outputs and resources as they were, the state before it kept', async () => {
    expect((await run('development', { type: 'update', config: { set: { infraGeneration: 'g2' } } })).status).toBe('succeeded');
    expect(await stackOutputs('development')).toMatchObject({ infraGeneration: 'g2' });
    const before = await backups('development');

    const requested = await restore('development', { backup: first.id, message: 'back to g1' });
    expect(requested.statusCode, requested.body).toBe(202);
    expect(requested.json()).toMatchObject({ type: 'restore', status: 'queued', spec: { restore: { backup: first.id } } });
    const done = await settled(service, requested.json().id);
    expect(done.status, done.error).toBe('succeeded');
    expect(done.outputs).toMatchObject({ infraGeneration: 'g1' });
    expect(done.resourceCount).toBe(first.resourceCount);
    expect(done.summary).toBeTruthy(); // the refresh preview: how the restored state differs from what runs

    expect(await stackOutputs('development')).toMatchObject({ infraGeneration: 'g1' });
    expect((await service.inject({ url: '/v1/environments/development' })).json().outputs).toMatchObject({ infraGeneration: 'g1' });
    const after = await backups('development');
    const taken = after.slice(0, after.length - before.length);
    expect(taken.map((b) => [b.reason, b.operationId])).toEqual([['after_operation', done.id], ['before_restore', done.id]]);
    // The state restored is the backup's: the same content, so the same file.
    expect(taken[0]!.resourceCount).toBe(first.resourceCount);
    expect(await stackOutputs('development')).not.toMatchObject({ infraGeneration: 'g2' });

    const outbox = await service.repositories.outbox.after(0, 10_000);
    expect(outbox.filter((e) => e.kind === 'state.restored' && e.operationId === done.id)).toHaveLength(1);
    const audit = (await service.inject({ url: '/v1/audit?limit=100' })).json().items as Array<{ action: string; result: string }>;
    expect(audit.some((r) => r.action === 'restoreState' && r.result === 'allowed')).toBe(true);

    // The next update brings the program's state back: the restored stack really is usable.
    const next = await run('development', { type: 'update' });
    expect(next.status, next.error).toBe('succeeded');
    expect(await stackOutputs('development')).toMatchObject({ infraGeneration: 'g2' });
  });

  it('refuses bad restores with a stable code and writes nothing', async () => {
    const operations = await operationCount();
    const backupsBefore = (await backups('development')).length;

    expect((await restore('development', { backup: '00000000-0000-4000-8000-000000000000' })).json().code).toBe('backup_not_found');
    expect((await restore('development', { backup: 'not-a-uuid' })).statusCode).toBe(400);
    expect((await restore('development', { backup: first.id, extra: 1 })).statusCode).toBe(400);
    // Another environment's backup is not found here.
    const other = await restore('testing', { backup: first.id });
    expect(other.statusCode).toBe(404);
    expect(other.json().code).toBe('backup_not_found');
    // An admin key alone has no second factor.
    const keyOnly = await restore('development', { backup: first.id }, { authorization: `Bearer ${service.adminKey}` });
    expect(keyOnly.statusCode).toBe(403);
    expect(keyOnly.json().code).toBe('second_factor_required');

    // Another stack's state, recorded (with a true checksum) as a backup of testing.
    const foreign = await new BackupRepository(service.database.db).insert({
      environment: 'testing', operationId: null, reason: 'after_operation', sha256: first.sha256, size: first.size, resourceCount: first.resourceCount,
    });
    const mismatch = await restore('testing', { backup: foreign.id });
    expect(mismatch.statusCode).toBe(422);
    expect(mismatch.json().code).toBe('backup_mismatch');
    expect(mismatch.json().detail).toContain('urn:pulumi:development::');
    await service.database.db.deleteFrom('state_backups').where('id', '=', foreign.id).execute();

    // A tampered file fails its checksum.
    const file = service.recovery.backups.fileOf(first.sha256);
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('"g1"', '"gX"'));
    try {
      const tampered = await restore('development', { backup: first.id });
      expect(tampered.statusCode).toBe(422);
      expect(tampered.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(tampered.json().code).toBe('backup_checksum_mismatch');
      expect((await service.inject({ url: `/v1/environments/development/backups/${first.id}` })).json().code).toBe('backup_checksum_mismatch');
    } finally {
      writeFileSync(file, original);
    }
    expect(await operationCount()).toBe(operations);
    expect((await backups('development')).length).toBe(backupsBefore);
  });

  it('checks the backup again when the restore runs: a file changed while it waited restores nothing', async () => {
    // A slow update holds the stack while the file is tampered with behind the queued restore.
    const slow = await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'update', config: { set: { sleepMs: '3000' } } } });
    expect(slow.statusCode).toBe(202);
    const queued = await restore('development', { backup: first.id });
    expect(queued.statusCode, queued.body).toBe(202);
    const file = service.recovery.backups.fileOf(first.sha256);
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('"g1"', '"gX"'));
    try {
      expect((await settled(service, slow.json().id)).status).toBe('succeeded');
      const done = await settled(service, queued.json().id);
      expect(done.status).toBe('failed');
      expect(done.errorCode).toBe('backup_checksum_mismatch');
      expect(await stackOutputs('development')).toMatchObject({ infraGeneration: 'g2' });
    } finally {
      writeFileSync(file, original);
    }
    expect((await run('development', { type: 'update', config: { set: { sleepMs: '0' } } })).status).toBe('succeeded');
  });
});

describe.each(DATABASES)('state backup retention and protected restores on %s', (database) => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ database, config: { backupKeepLast: 2, backupKeepDays: 0, protectedEnvironments: ['staging'] } });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('keeps the newest N, every release\'s, and removes files no backup names any more', async () => {
    const run = async (payload: object) => {
      const response = await service.inject({ method: 'POST', url: '/v1/environments/testing/operations', payload });
      return settled(service, response.json().id);
    };
    const cancelled = async () => {
      const response = await service.inject({ method: 'POST', url: '/v1/environments/testing/operations', payload: { type: 'update', config: { set: { sleepMs: '5000' } } } });
      const id = response.json().id as string;
      while ((await service.inject({ url: `/v1/operations/${id}` })).json().status === 'queued') await new Promise((r) => setTimeout(r, 100));
      expect((await service.inject({ method: 'POST', url: `/v1/operations/${id}/cancel` })).statusCode).toBeLessThan(300);
      return settled(service, id);
    };
    const update = await run({ type: 'update' });
    expect(update.status, update.error).toBe('succeeded');
    const refreshes: Array<Record<string, any>> = [];
    for (let i = 0; i < 2; i++) refreshes.push(await run({ type: 'refresh' }));
    const listed = (await service.inject({ url: '/v1/environments/testing/backups' })).json().items as Array<{ operationId: string; sha256: string }>;
    const firstRefresh = listed.find((b) => b.operationId === refreshes[0]!.id)!.sha256;
    // Whatever the result: a cancelled operation is backed up too.
    const stopped = await cancelled();
    expect(stopped.status).toBe('cancelled');
    refreshes.push(stopped);
    const rows = await service.database.db.selectFrom('state_backups').selectAll().where('environment', '=', 'testing').orderBy('seq').execute();
    // The update made a release: its backup stays. Of the refreshes, the newest two stay.
    expect(rows.map((r) => r.operation_id)).toEqual([update.id, refreshes[1]!.id, refreshes[2]!.id]);
    const kept = new Set(rows.map((r) => r.sha256));
    const pruned = await service.database.db.selectFrom('state_backups').select('sha256').where('operation_id', '=', refreshes[0]!.id).execute();
    expect(pruned).toEqual([]);
    for (const sha256 of kept) expect(existsSync(service.recovery.backups.fileOf(sha256))).toBe(true);
    expect(existsSync(service.recovery.backups.fileOf(firstRefresh))).toBe(kept.has(firstRefresh));
  });

  it('restores a protected environment only once its plan, what the import would change, is approved', async () => {
    const approver = await person(service, 'restore-approver', [{ role: 'approver', environments: ['staging'] }]);
    const approved = async (id: string) => {
      const waiting = await settled(service, id);
      expect(waiting.status, waiting.error).toBe('awaiting_approval');
      const decided = await approver.request({ method: 'POST', url: `/v1/operations/${id}/approve`, payload: {} });
      expect(decided.statusCode, decided.body).toBe(200);
      return { waiting, done: await settled(service, id) };
    };
    const update = async (generation: string) => {
      const response = await service.inject({ method: 'POST', url: '/v1/environments/staging/operations', payload: { type: 'update', config: { set: { infraGeneration: generation } } } });
      const { done } = await approved(response.json().id);
      expect(done.status, done.error).toBe('succeeded');
    };
    await update('s1');
    const [s1] = (await service.inject({ url: '/v1/environments/staging/backups' })).json().items;
    await update('s2');

    const requested = await service.inject({ method: 'POST', url: '/v1/environments/staging/restores', payload: { backup: s1.id } });
    expect(requested.statusCode, requested.body).toBe(202);
    const { waiting, done } = await approved(requested.json().id);
    expect(waiting.plan.changes).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'pulumi:pulumi:Stack', op: 'update' })]));
    expect(done.status, done.error).toBe('succeeded');
    expect(done.outputs).toMatchObject({ infraGeneration: 's1' });
    const state = JSON.parse(await service.engine.exportState('staging'));
    expect(state.deployment.resources.find((r: { type: string }) => r.type === 'pulumi:pulumi:Stack').outputs).toMatchObject({ infraGeneration: 's1' });
  });
});
