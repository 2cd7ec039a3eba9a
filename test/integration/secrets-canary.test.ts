// Canary secrets must never appear in clear text in any sink: API responses, event streams,
// logs, plain-text output, error messages, webhook deliveries, database rows (every table) or
// files in the data dir (plans, program snapshots, workspaces, state backups). The canaries: one set in a stack
// file with the CLI, one set through PATCH .../config, one carried by an operation's one-call
// configuration change on a protected environment (a saved plan), and the integrations' Slack
// secrets, metrics token, webhook secret and a Slack response_url.
import type { InjectOptions } from 'fastify';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { startTestService, type TestService } from '../support/service.js';
import { slackSignature } from '../../src/chatops/slack-signature.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { person, settled } from '../support/releases.js';
import { setSecretConfig } from '../support/stack-config.js';
import { waitFor } from '../support/wait.js';

const CANARY = `canary-${randomBytes(12).toString('hex')}`;
const API_CANARY = `canary-${randomBytes(12).toString('hex')}`;
const PLAN_CANARY = `canary-${randomBytes(12).toString('hex')}`;
const CANARIES = [CANARY, API_CANARY, PLAN_CANARY];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat || name === 'node_modules') return [];
    return stat.isDirectory() ? filesUnder(path) : [path];
  });
}

// The integrations' secrets: Slack's signing secret and bot token, the metrics token, and (made
// by the service, shown once) a webhook's signing secret; a Slack response_url is a capability.
const SLACK_SIGNING = `slack-signing-canary-${randomBytes(8).toString('hex')}`;
const SLACK_BOT = `xoxb-canary-${randomBytes(8).toString('hex')}`;
const METRICS_TOKEN = `metrics-canary-${randomBytes(8).toString('hex')}`;
const RESPONSE_PATH = `/commands/response-canary-${randomBytes(8).toString('hex')}`;

describe.each(DATABASES)('secrets canary on %s', (database) => {
  let service: TestService;
  const seen: string[] = [];

  beforeAll(async () => {
    receiver = await startReceiver();
    service = await startTestService({
      database, prepare: (program) => setSecretConfig(program, 'development', 'canary', CANARY),
      config: { protectedEnvironments: ['staging'], slackSigningSecret: SLACK_SIGNING, slackBotToken: SLACK_BOT, metricsToken: METRICS_TOKEN, webhookAllow: ['127.0.0.0/8'], slackApiUrl: receiver.url, slackApprovalChannel: 'C0CANARY' },
    });
    // A webhook on every operation event: its secret is in the creation answer alone.
    const created = (await service.inject({ method: 'POST', url: '/v1/webhooks', payload: { url: `${receiver.url}/hook`, events: ['operation.queued', 'operation.started', 'operation.succeeded'], environments: '*' } })).json();
    webhookSecret = created.secret;
    // A Slack user, and a preview asked from Slack: its response_url is kept, sealed.
    await call({ method: 'PUT', url: '/v1/chatops/slack/users/U0CANARY', payload: { principal: 'canary-user', grants: [{ role: 'deployer', environments: ['development'] }] } });
    const body = new URLSearchParams({ user_id: 'U0CANARY', command: '/stackpilot', text: 'preview development', response_url: `${receiver.url}${RESPONSE_PATH}` }).toString();
    const timestamp = String(Math.floor(Date.now() / 1000));
    await call({ method: 'POST', url: '/v1/chatops/slack/commands', payload: body, headers: {
      authorization: '', 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': slackSignature(SLACK_SIGNING, timestamp, body),
    } });
  });
  afterAll(async () => {
    await service?.close();
    await receiver?.close();
  });
  let receiver: Receiver;
  let webhookSecret: string;
  const integrationSecrets = () => [SLACK_SIGNING, SLACK_BOT, METRICS_TOKEN, webhookSecret, RESPONSE_PATH];

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
    await call({ url: '/v1/webhooks' });
    await call({ url: '/v1/chatops/slack/users' });
    await call({ url: '/v1/audit?limit=100' });
    await call({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    await waitFor('the webhook deliveries', () => receiver.requests.length >= 12, 30);
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
    const secrets = [...CANARIES, ...integrationSecrets()];
    expect(webhookSecret).toMatch(/^whsec_/);
    const found = (texts: string[]) => texts.filter((text) => secrets.some((secret) => text.includes(secret)));
    expect(found(seen)).toEqual([]);
    expect(service.logs.length).toBeGreaterThan(0);
    expect(found(service.logs)).toEqual([]);
    // What receivers got: signed bodies and headers, never the signing secret itself.
    // (Slack's own API is the one place the bot token goes, as its bearer credential.)
    const isSlackApi = (path: string) => path.startsWith('/chat.');
    await waitFor('the approval request posted to Slack', () => receiver.requests.some((r) => isSlackApi(r.path)), 30);
    for (const r of receiver.requests.filter((request) => isSlackApi(request.path))) expect(r.headers.authorization).toBe(`Bearer ${SLACK_BOT}`);
    const withoutSlackAuth = receiver.requests.map((r) => ({ headers: isSlackApi(r.path) ? { ...r.headers, authorization: undefined } : r.headers, body: r.body }));
    expect(found(withoutSlackAuth.map((r) => JSON.stringify(r)))).toEqual([]);
    const tables = database === 'postgres'
      ? (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(service.database.db)).rows
      : (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(service.database.db)).rows;
    const filled = ['operations', 'operation_events', 'operation_output', 'outbox', 'audit_log', 'config_versions', 'plan_files', 'releases',
      'webhooks', 'webhook_deliveries', 'slack_users', 'slack_replies', 'slack_seen_requests'];
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(filled));
    for (const { name } of tables) {
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(service.database.db);
      if (filled.includes(name)) expect(rows.rows.length, name).toBeGreaterThan(0);
      expect(found(rows.rows.map((row) => JSON.stringify(row))), name).toEqual([]);
    }
    // State backups (taken after every mutating operation) keep the secret outputs as ciphertext.
    const backups = filesUnder(service.config.backupDir!).filter((file) => file.endsWith('.json'));
    expect(backups.length).toBeGreaterThan(3);
    expect(backups.some((file) => readFileSync(file, 'utf8').includes('4dabf18193072939515e22adb298388d'))).toBe(true);
    expect(found(backups.map((file) => readFileSync(file, 'latin1'))), 'state backups').toEqual([]);
    const files = filesUnder(service.config.dataDir);
    expect(files.some((file) => file.includes(join('programs', '')))).toBe(true);
    expect(found(files.map((file) => readFileSync(file, 'latin1'))), 'files in the data dir').toEqual([]);
  });
});
