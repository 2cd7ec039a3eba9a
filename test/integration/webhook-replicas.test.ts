// Two service processes on one PostgreSQL database, both sending webhooks: each event reaches
// the receiver once (one replica fans out the outbox at a time, and each delivery is claimed by
// one replica), whichever replica ran the operation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../support/credentials.js';
import { DATABASES, createPostgresDatabase, type TestDatabase } from '../support/databases.js';
import { newKeyToken } from '../support/credentials.js';
import { copyProgram, type TempProgram } from '../support/programs.js';
import { api, spawnService, type ServiceProcess } from '../support/process.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { TEST_PASSPHRASE } from '../support/service.js';
import { waitFor } from '../support/wait.js';

describe.skipIf(!DATABASES.includes('postgres'))('webhooks from two replicas on PostgreSQL', () => {
  let program: TempProgram;
  let database: TestDatabase;
  let receiver: Receiver;
  const replicas: ServiceProcess[] = [];

  beforeAll(async () => {
    program = copyProgram('service-project');
    database = await createPostgresDatabase();
    receiver = await startReceiver();
    const key = newKeyToken();
    for (const name of ['a', 'b']) {
      replicas.push(await spawnService({
        STACKPILOT_BOOTSTRAP_ADMIN_KEY: key, STACKPILOT_PROJECT_DIR: program.dir, STACKPILOT_DATA_DIR: `${program.dir}/../data-${name}`,
        DATABASE_URL: database.url, STACKPILOT_STATE_BACKEND: program.backendUrl, STACKPILOT_SECRETS_PASSPHRASE: TEST_PASSPHRASE,
        STACKPILOT_POLL_MS: '200', STACKPILOT_WEBHOOK_ALLOW: '127.0.0.0/8',
      }));
    }
  });
  afterAll(async () => {
    for (const replica of replicas) await replica.kill('SIGTERM');
    await receiver?.close();
    await database?.drop();
    program?.remove();
  });

  /** An admin session, opened over HTTP as an operator would. */
  async function session(replica: ServiceProcess): Promise<string> {
    const { secret } = (await api(replica, '/v1/mfa/totp', { method: 'POST' })).json();
    await api(replica, '/v1/mfa/totp/confirm', { method: 'POST', body: { code: totpCode(secret, Date.now() - 30_000) } });
    return (await api(replica, '/v1/sessions', { method: 'POST', body: { code: totpCode(secret) } })).json().token;
  }

  it('delivers each event id once', async () => {
    const [a, b] = replicas as [ServiceProcess, ServiceProcess];
    const token = await session(a);
    const created = await fetch(`${a.url}/v1/webhooks`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url, events: ['operation.queued', 'operation.started', 'operation.succeeded'], environments: '*' }),
    });
    expect(created.status).toBe(201);
    const ids: string[] = [];
    for (const [i, environment] of ['development', 'testing', 'development', 'staging'].entries()) {
      const replica = i % 2 ? b : a;
      ids.push((await api(replica, `/v1/environments/${environment}/operations`, { method: 'POST', body: { type: 'preview' } })).json().id);
    }
    for (const id of ids) expect((await api(a, `/v1/operations/${id}?wait=60`)).json().status).toBe('succeeded');
    await waitFor('twelve deliveries', () => receiver.requests.length >= 12, 30);
    await new Promise((resolve) => setTimeout(resolve, 2000)); // room for any duplicate to arrive
    const webhookIds = receiver.requests.map((r) => String(r.headers['webhook-id']));
    expect(webhookIds.length).toBe(12);
    expect(new Set(webhookIds).size).toBe(12);
    const events = receiver.requests.map((r) => JSON.parse(r.body)).map((body) => `${body.data.operationId}/${body.type}`);
    expect(new Set(events).size).toBe(12);
  });
});
