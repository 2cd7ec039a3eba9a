// The verifier across replicas and process death, on one PostgreSQL database: two replicas both
// run a verifier, yet a verification's queries reach Prometheus exactly `count` times (one
// replica holds it), and a promotion waits for its end; and when the replica holding one is killed mid-bake, the other takes it
// over once its lease expires and resumes from the recorded measurements, not from zero.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKeyToken } from '../support/credentials.js';
import { DATABASES, createPostgresDatabase, type TestDatabase } from '../support/databases.js';
import { api, spawnService, type ServiceProcess } from '../support/process.js';
import { copyProgram, type TempProgram } from '../support/programs.js';
import { startPrometheus, type Prometheus } from '../support/prometheus.js';
import { TEST_PASSPHRASE } from '../support/service.js';
import { ERROR_RATIO_METRIC, startTestExporter, type TestExporter } from '../support/test-exporter.js';
import { waitFor } from '../support/wait.js';

describe.skipIf(!DATABASES.includes('postgres'))('the verifier on two replicas', () => {
  let program: TempProgram;
  let database: TestDatabase;
  let stateDatabase: TestDatabase;
  let exporter: TestExporter;
  let prometheus: Prometheus;
  let proxy: Server;
  let proxyUrl: string;
  const queries: string[] = [];
  const replicas: ServiceProcess[] = [];

  beforeAll(async () => {
    exporter = await startTestExporter(0);
    prometheus = await startPrometheus(exporter.metricsUrl);
    // In front of Prometheus: counts the queries the verifiers make, whichever replica makes them.
    proxy = createServer(async (request, response) => {
      queries.push(request.url!);
      const answer = await fetch(`${prometheus.url}${request.url}`);
      response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(await answer.text());
    }).listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

    program = copyProgram('service-project');
    [database, stateDatabase] = await Promise.all([createPostgresDatabase(), createPostgresDatabase()]);
    const key = newKeyToken();
    for (const name of ['a', 'b']) {
      replicas.push(await spawnService({
        STACKPILOT_BOOTSTRAP_ADMIN_KEY: key, STACKPILOT_PROJECT_DIR: program.dir, STACKPILOT_DATA_DIR: join(program.dir, '..', `data-${name}`),
        DATABASE_URL: database.url, STACKPILOT_STATE_BACKEND: `${stateDatabase.url}?sslmode=disable`, STACKPILOT_SECRETS_PASSPHRASE: TEST_PASSPHRASE,
        STACKPILOT_POLL_MS: '200', STACKPILOT_LEASE_SECONDS: '5', STACKPILOT_PROMETHEUS_URL: proxyUrl,
      }));
    }
    const set = await api(replicas[0]!, '/v1/environments/development/health-checks', {
      method: 'PUT',
      body: { bakeSeconds: 10, prometheus: { queries: [{ name: 'error-ratio', query: ERROR_RATIO_METRIC, condition: '< 0.05', interval: 5, count: 3 }] } },
    });
    expect(set.status, set.body).toBe(200);
  }, 180_000);

  afterAll(async () => {
    for (const replica of replicas) await replica.kill('SIGTERM');
    await database?.drop();
    await stateDatabase?.drop();
    program?.remove();
    await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
    await prometheus?.close();
    await exporter?.close();
  }, 120_000);

  const update = async (replica: ServiceProcess) => {
    const { id } = (await api(replica, '/v1/environments/development/operations', { method: 'POST', body: { type: 'update' } })).json();
    const done = await waitFor('the update to finish', async () => {
      const operation = (await api(replica, `/v1/operations/${id}?wait=30`)).json();
      return ['succeeded', 'failed', 'cancelled'].includes(operation.status) && operation;
    }, 120);
    expect(done.status, done.error).toBe('succeeded');
    return (await api(replica, '/v1/environments/development')).json().currentRelease as { id: string; verification: string };
  };
  const verification = async (replica: ServiceProcess, release: { id: string }) =>
    (await api(replica, `/v1/environments/development/releases/${release.id}/verification`)).json();
  const holder = async (release: { id: string }) => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query('select lease_owner from release_verifications where release_id = $1', [release.id])).rows[0]?.lease_owner as string | null;
    } finally {
      await client.end();
    }
  };

  it('runs a verification on one replica only; only a verified release is promoted out of its environment', async () => {
    const release = await update(replicas[0]!);
    expect(release.verification).toBe('verifying');
    const early = await api(replicas[1]!, '/v1/environments/testing/promotions', { method: 'POST', body: {} });
    expect(early.status, early.body).toBe(409);
    expect(early.json().code).toBe('release_not_verified');
    const ended = await waitFor('the verification to end', async () => {
      const v = await verification(replicas[1]!, release);
      return v.status !== 'verifying' && v;
    }, 60, 250);
    expect(ended.status, ended.reason).toBe('verified');
    expect(ended.checks['query:error-ratio']).toMatchObject({ measurements: 3, failures: 0 });
    expect(queries).toHaveLength(3);
    const promoted = await api(replicas[1]!, '/v1/environments/testing/promotions', { method: 'POST', body: {} });
    expect(promoted.status, promoted.body).toBe(202);
  });

  it('resumes a verification whose replica died, from its recorded measurements', async () => {
    queries.length = 0;
    const release = await update(replicas[0]!);
    await waitFor('a first measurement', async () => (await verification(replicas[1]!, release)).checks['query:error-ratio'].measurements >= 1, 30, 100);
    const owner = await holder(release);
    const dying = replicas.find((r) => owner?.includes(`:${r.child.pid}:`))!;
    expect(dying).toBeDefined();
    const survivor = replicas.find((r) => r !== dying)!;
    await dying.kill('SIGKILL');
    const ended = await waitFor('the verification to end on the other replica', async () => {
      const v = await verification(survivor, release);
      return v.status !== 'verifying' && v;
    }, 60, 250);
    expect(ended.status, ended.reason).toBe('verified');
    expect(ended.checks['query:error-ratio'].measurements).toBe(3);
    // Resumed, not restarted: at most the one measurement the dead replica took but never recorded is taken again.
    expect(queries.length).toBeGreaterThanOrEqual(3);
    expect(queries.length).toBeLessThanOrEqual(4);
  });
});
