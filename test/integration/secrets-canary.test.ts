// Canary secrets (one in a stack's config; the integrations' Slack secrets, metrics token, webhook
// secret and a Slack response_url) must never appear in clear text in any sink: API
// responses, event streams, logs, plain-text output, error messages or database rows.
import type { InjectOptions } from 'fastify';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { startTestService, type TestService } from '../support/service.js';
import { slackSignature } from '../../src/chatops/slack-signature.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { setSecretConfig } from '../support/stack-config.js';
import { waitFor } from '../support/wait.js';

const CANARY = `canary-${randomBytes(12).toString('hex')}`;
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
      config: { slackSigningSecret: SLACK_SIGNING, slackBotToken: SLACK_BOT, metricsToken: METRICS_TOKEN, webhookAllow: ['127.0.0.0/8'], slackApiUrl: receiver.url, slackApprovalChannel: 'C0CANARY' },
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

  it('finds the canary in no response, event, log line or database row', async () => {
    expect(seen.length).toBeGreaterThan(20);
    const secrets = [CANARY, ...integrationSecrets()];
    expect(webhookSecret).toMatch(/^whsec_/);
    const found = (texts: string[]) => texts.filter((text) => secrets.some((secret) => text.includes(secret)));
    expect(found(seen)).toEqual([]);
    expect(service.logs.length).toBeGreaterThan(0);
    expect(found(service.logs)).toEqual([]);
    // What receivers got: signed bodies and headers, never the signing secret itself.
    expect(found(receiver.requests.map((r) => JSON.stringify({ headers: r.headers, body: r.body })))).toEqual([]);
    for (const table of ['operations', 'operation_events', 'operation_output', 'outbox', 'audit_log', 'webhooks', 'webhook_deliveries', 'slack_users', 'slack_replies', 'slack_seen_requests']) {
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(service.database.db);
      expect(rows.rows.length, table).toBeGreaterThan(0);
      expect(found(rows.rows.map((row) => JSON.stringify(row))), table).toEqual([]);
    }
  });
});
