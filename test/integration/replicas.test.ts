// Two service processes on one PostgreSQL database and one state backend (the CLI's
// postgres:// backend): updates of one environment sent to different processes never overlap
// in time; updates of two environments do.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, createPostgresDatabase, type TestDatabase } from '../support/databases.js';
import { newKeyToken } from '../support/credentials.js';
import { copyProgram, type TempProgram } from '../support/programs.js';
import { api, spawnService, type ServiceProcess } from '../support/process.js';
import { TEST_PASSPHRASE } from '../support/service.js';
import { setConfig } from '../support/stack-config.js';

describe.skipIf(!DATABASES.includes('postgres'))('two replicas on PostgreSQL', () => {
  let program: TempProgram;
  let database: TestDatabase;
  let stateDatabase: TestDatabase;
  const replicas: ServiceProcess[] = [];

  beforeAll(async () => {
    program = copyProgram('service-project');
    [database, stateDatabase] = await Promise.all([createPostgresDatabase(), createPostgresDatabase()]);
    const stateUrl = `${stateDatabase.url}?sslmode=disable`;
    for (const env of ['development', 'testing']) await setConfig({ ...program, backendUrl: stateUrl }, env, 'sleepMs', '4000');
    const key = newKeyToken(); // one admin key, installed by whichever replica starts first
    for (const name of ['a', 'b']) {
      replicas.push(await spawnService({
        STACKPILOT_BOOTSTRAP_ADMIN_KEY: key,
        STACKPILOT_PROJECT_DIR: program.dir,
        STACKPILOT_DATA_DIR: join(program.dir, '..', `data-${name}`),
        DATABASE_URL: database.url,
        STACKPILOT_STATE_BACKEND: stateUrl,
        STACKPILOT_SECRETS_PASSPHRASE: TEST_PASSPHRASE,
        STACKPILOT_POLL_MS: '200',
      }));
    }
  });
  afterAll(async () => {
    for (const replica of replicas) await replica.kill('SIGTERM');
    await database?.drop();
    await stateDatabase?.drop();
    program?.remove();
  });

  it('serialises one stack across replicas and runs different stacks in parallel', async () => {
    const [a, b] = replicas as [ServiceProcess, ServiceProcess];
    const submit = async (replica: ServiceProcess, env: string) =>
      (await api(replica, `/v1/environments/${env}/operations`, { method: 'POST', body: { type: 'update' } })).json().id as string;
    const ids = [await submit(a, 'development'), await submit(b, 'development'), await submit(b, 'testing')];
    const [dev1, dev2, test1] = await Promise.all(ids.map(async (id, i) =>
      (await api(replicas[i % 2]!, `/v1/operations/${id}?wait=60`)).json()));
    for (const op of [dev1, dev2, test1]) expect(op.status, op.error).toBe('succeeded');

    const span = (op: { startedAt: string; finishedAt: string }) => [Date.parse(op.startedAt), Date.parse(op.finishedAt)] as const;
    const overlap = (x: readonly [number, number], y: readonly [number, number]) => x[0] < y[1] && y[0] < x[1];
    expect(overlap(span(dev1), span(dev2))).toBe(false);
    expect(overlap(span(dev1), span(test1)) || overlap(span(dev2), span(test1))).toBe(true);
  });
});
