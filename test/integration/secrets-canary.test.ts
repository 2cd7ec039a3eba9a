// A canary secret in a stack's config must never appear in clear text in any sink: API
// responses, event streams, logs, plain-text output, error messages, database rows (every
// table) or files in the data dir (plans, program snapshots, workspaces, state backups). Three canaries: one
// set in the stack file with the CLI, one set through PATCH .../config, one carried by an
// operation's one-call configuration change on a protected environment (a saved plan).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { startTestService, type TestService } from '../support/service.js';
import { person, settled } from '../support/releases.js';
import { setSecretConfig } from '../support/stack-config.js';

const CANARY = `canary-${randomBytes(12).toString('hex')}`;
const API_CANARY = `canary-${randomBytes(12).toString('hex')}`;
const PLAN_CANARY = `canary-${randomBytes(12).toString('hex')}`;
const CANARIES = [CANARY, API_CANARY, PLAN_CANARY];
const hasCanary = (text: string) => CANARIES.some((canary) => text.includes(canary));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat || name === 'node_modules') return [];
    return stat.isDirectory() ? filesUnder(path) : [path];
  });
}

describe.each(DATABASES)('secrets canary on %s', (database) => {
  let service: TestService;
  const seen: string[] = [];

  beforeAll(async () => {
    service = await startTestService({
      database, config: { protectedEnvironments: ['staging'] },
      prepare: (program) => setSecretConfig(program, 'development', 'canary', CANARY),
    });
  });
  afterAll(async () => {
    await service?.close();
  });

  async function call(request: InjectOptions) {
    const response = await service.inject(request);
    seen.push(response.body, JSON.stringify(response.headers));
    return response;
  }

  it('runs every operation type with the canary in the stack config', async () => {
    for (const type of ['preview', 'update', 'refresh', 'destroy']) {
      const { id } = (await call({ method: 'POST', url: '/v1/environments/development/operations', payload: { type } })).json();
      const done = (await call({ url: `/v1/operations/${id}?wait=60` })).json();
      expect(done.status, `${type}: ${done.error}`).toBe('succeeded');
      await call({ url: `/v1/operations/${id}/events` });
      await call({ url: `/v1/operations/${id}/log` });
      await call({ url: `/v1/environments/development/operations` });
      if (type === 'update') {
        // The secret really was in play: the stack output exists, redacted.
        expect(done.outputs.canary).toBe('[secret]');
        expect((await call({ url: '/v1/environments/development' })).json().outputs.canary).toBe('[secret]');
      }
    }
    await call({ url: '/v1/environments' });
  });

  it('keeps a secret set through the API, and one in a saved plan, as ciphertext only', async () => {
    const etag = (await call({ url: '/v1/environments/testing/config' })).headers.etag as string;
    const changed = await call({ method: 'PATCH', url: '/v1/environments/testing/config', headers: { 'if-match': etag }, payload: { secrets: { canary: API_CANARY } } });
    expect(changed.statusCode, changed.body).toBe(201);
    const { id } = (await call({ method: 'POST', url: '/v1/environments/testing/operations', payload: { type: 'update' } })).json();
    const updated = (await call({ url: `/v1/operations/${id}?wait=60` })).json();
    expect(updated.status, updated.error).toBe('succeeded');
    expect(updated.outputs.canary).toBe('[secret]');

    const requested = (await call({ method: 'POST', url: '/v1/environments/staging/operations', payload: { type: 'update', config: { secrets: { canary: PLAN_CANARY } } } })).json();
    expect((await settled(service, requested.id)).status).toBe('awaiting_approval');
    const approver = await person(service, 'approver', [{ role: 'approver', environments: ['staging'] }]);
    expect((await approver.request({ method: 'POST', url: `/v1/operations/${requested.id}/approve`, payload: {} })).statusCode).toBe(200);
    const applied = await settled(service, requested.id);
    expect(applied.status, applied.error).toBe('succeeded');
    expect(applied.outputs.canary).toBe('[secret]');
    for (const env of ['testing', 'staging']) {
      await call({ url: `/v1/environments/${env}/config` });
      await call({ url: `/v1/environments/${env}/config/versions` });
      await call({ url: `/v1/environments/${env}/releases` });
    }
    await call({ url: `/v1/operations/${requested.id}/events` });
    expect((await service.database.db.selectFrom('plan_files').selectAll().execute()).length).toBe(1);
  });

  it('finds the canary in no response, event, log line or database row', async () => {
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.filter(hasCanary)).toEqual([]);
    expect(service.logs.length).toBeGreaterThan(0);
    expect(service.logs.filter(hasCanary)).toEqual([]);
    const tables = database === 'postgres'
      ? (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(service.database.db)).rows
      : (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(service.database.db)).rows;
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['operations', 'operation_events', 'config_versions', 'plan_files', 'releases', 'outbox', 'audit_log']));
    for (const { name } of tables) {
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(service.database.db);
      expect(rows.rows.filter((row) => hasCanary(JSON.stringify(row))), name).toEqual([]);
    }
    // State backups (taken after every mutating operation) keep the secret outputs as ciphertext.
    const backups = filesUnder(service.config.backupDir!).filter((file) => file.endsWith('.json'));
    expect(backups.length).toBeGreaterThan(3);
    expect(backups.some((file) => readFileSync(file, 'utf8').includes('4dabf18193072939515e22adb298388d'))).toBe(true);
    expect(backups.filter((file) => hasCanary(readFileSync(file, 'latin1'))), 'state backups').toEqual([]);
    const files = filesUnder(service.config.dataDir);
    expect(files.some((file) => file.includes(`${join('programs', '')}`))).toBe(true);
    expect(files.filter((file) => hasCanary(readFileSync(file, 'latin1'))), 'files in the data dir').toEqual([]);
  });
});
