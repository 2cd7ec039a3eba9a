// Service processes on one PostgreSQL database and one state backend (the CLI's postgres://
// backend): updates of one environment sent to different processes never overlap in time;
// updates of two environments do; a change on one replica wakes waiters on another at once
// (LISTEN/NOTIFY), not at its next poll; and the rate limit counts across replicas.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, createPostgresDatabase, type TestDatabase } from '../support/databases.js';
import { newKeyToken } from '../support/credentials.js';
import { copyProgram, type TempProgram } from '../support/programs.js';
import { api, spawnService, type ServiceProcess } from '../support/process.js';
import { TEST_PASSPHRASE } from '../support/service.js';
import { setConfig } from '../support/stack-config.js';
import { waitFor } from '../support/wait.js';

describe.skipIf(!DATABASES.includes('postgres'))('two replicas on PostgreSQL', () => {
  let program: TempProgram;
  let database: TestDatabase;
  let stateDatabase: TestDatabase;
  let listener: TempProgram;
  const replicas: ServiceProcess[] = [];

  beforeAll(async () => {
    program = copyProgram('service-project');
    [database, stateDatabase] = await Promise.all([createPostgresDatabase(), createPostgresDatabase()]);
    const stateUrl = `${stateDatabase.url}?sslmode=disable`;
    for (const env of ['development', 'testing']) await setConfig({ ...program, backendUrl: stateUrl }, env, 'sleepMs', '4000');
    const key = newKeyToken(); // one admin key, installed by whichever replica starts first
    const replica = (name: string, projectDir: string, extra: Record<string, string> = {}) => spawnService({
      STACKPILOT_BOOTSTRAP_ADMIN_KEY: key,
      STACKPILOT_PROJECT_DIR: projectDir,
      STACKPILOT_DATA_DIR: join(program.dir, '..', `data-${name}`),
      DATABASE_URL: database.url,
      STACKPILOT_STATE_BACKEND: stateUrl,
      STACKPILOT_SECRETS_PASSPHRASE: TEST_PASSPHRASE,
      STACKPILOT_POLL_MS: '200',
      STACKPILOT_RATE_LIMIT_PER_MINUTE: '40',
      ...extra,
    });
    for (const name of ['a', 'b']) replicas.push(await replica(name, program.dir));
    // A replica that polls only every 30 s and runs no development operation (its project has
    // only the testing stack): what it learns of development, it learns from the others.
    listener = copyProgram('service-project');
    for (const env of ['development', 'staging', 'production']) rmSync(join(listener.dir, 'stacks', `Pulumi.${env}.yaml`));
    replicas.push(await replica('listener', listener.dir, { STACKPILOT_POLL_MS: '30000', STACKPILOT_RATE_LIMIT_PER_MINUTE: '100000' }));
  });
  afterAll(async () => {
    for (const replica of replicas) await replica.kill('SIGTERM');
    await database?.drop();
    await stateDatabase?.drop();
    program?.remove();
    listener?.remove();
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

  it('wakes a long poll on another replica when an operation finishes, without waiting for its poll', async () => {
    const [a, , quiet] = replicas as [ServiceProcess, ServiceProcess, ServiceProcess];
    const { id } = (await api(a, '/v1/environments/development/operations', { method: 'POST', body: { type: 'preview' } })).json();
    const answered = api(quiet, `/v1/operations/${id}?wait=60`).then((response) => ({ at: Date.now(), operation: response.json() }));
    const { at, operation } = await answered;
    expect(operation.status).toBe('succeeded');
    // Its poll would have taken up to 30 s; the notification takes milliseconds.
    const latency = at - Date.parse(operation.finishedAt);
    console.log(`long poll on another replica answered ${latency} ms after the operation finished`);
    expect(latency).toBeLessThan(1500);
  });

  it('counts one rate limit across replicas', async () => {
    const [a, b] = replicas as [ServiceProcess, ServiceProcess];
    // Counts are per fixed minute: start the burst well inside one.
    await waitFor('a fresh part of the rate-limit window', () => Date.now() % 60_000 < 45_000, 20);
    // 40 a minute per principal: 25 requests to each replica would all pass if each counted alone.
    const statuses = await Promise.all(Array.from({ length: 50 }, (_, i) => api(i % 2 ? b : a, '/v1/environments').then((r) => r.status)));
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(40);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(10);
  });
});
