// Slack ChatOps with signed requests (Slack's v0 scheme) against the real service, and local
// receivers standing in for response_url and Slack's Web API. Every refusal is audited.
import { randomBytes } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slackSignature } from '../../src/chatops/slack-signature.js';
import { DATABASES } from '../support/databases.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestService, type TestService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

const SIGNING_SECRET = `slack-signing-${randomBytes(12).toString('hex')}`;
const BOT_TOKEN = `xoxb-${randomBytes(12).toString('hex')}`;

describe.each(DATABASES)('Slack ChatOps on %s', (database) => {
  let service: TestService;
  let responseUrl: Receiver;
  let slackApi: Receiver;

  beforeAll(async () => {
    [responseUrl, slackApi] = await Promise.all([startReceiver(), startReceiver()]);
    service = await startTestService({
      database,
      config: {
        slackSigningSecret: SIGNING_SECRET, slackBotToken: BOT_TOKEN, slackApiUrl: `${slackApi.url}/api`, slackApprovalChannel: 'C0APPROVALS',
        webhookAllow: ['127.0.0.0/8'], metricsPort: 0,
      },
    });
    const map = (id: string, principal: string, grants: object[]) =>
      service.inject({ method: 'PUT', url: `/v1/chatops/slack/users/${id}`, payload: { principal, grants } });
    expect((await map('U0ALICE', 'alice', [{ role: 'deployer', environments: ['development'] }])).statusCode).toBe(200);
    expect((await map('U0BOB', 'bob', [{ role: 'admin', environments: ['development', 'production'] }])).statusCode).toBe(200);
  });
  afterAll(async () => {
    await service?.close();
    await responseUrl?.close();
    await slackApi?.close();
  });

  function signed(path: string, form: Record<string, string>, options: { timestamp?: number; secret?: string; body?: string } = {}): InjectOptions {
    const body = options.body ?? new URLSearchParams(form).toString();
    const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
    return {
      method: 'POST', url: path, payload: body,
      headers: {
        'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp,
        'x-slack-signature': slackSignature(options.secret ?? SIGNING_SECRET, timestamp, body),
      },
    };
  }
  const command = (user: string, text: string, extra: Record<string, string> = {}) => signed('/v1/chatops/slack/commands', {
    token: 'unused', team_id: 'T0TEAM', user_id: user, command: '/stackpilot', text, response_url: `${responseUrl.url}/commands/${randomBytes(4).toString('hex')}`,
    trigger_id: '1.2.3', ...extra,
  });
  const slack = (request: InjectOptions) => service.app.inject(request);
  const refusals = async (reason: string) => (await service.inject(`/v1/audit?result=refused&limit=100`)).json().items
    .filter((r: { reason: string }) => r.reason === reason);
  const operationCount = async () => (await service.inject('/v1/environments/development/operations?limit=100')).json().items.length;

  it('acknowledges a preview within 3 s naming the operation, then posts its progress to response_url', async () => {
    const request = command('U0ALICE', 'preview development');
    const started = Date.now();
    const answer = await slack(request);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(answer.statusCode).toBe(200);
    const { response_type: type, text } = answer.json();
    expect(type).toBe('ephemeral');
    const operationId = /operation ([0-9a-f-]{36})/.exec(text)?.[1];
    expect(operationId).toBeDefined();
    expect((await service.inject(`/v1/operations/${operationId}`)).json()).toMatchObject({ requestedBy: 'alice', type: 'preview' });
    const path = new URLSearchParams(String(request.payload)).get('response_url')!.replace(responseUrl.url, '');
    await waitFor('the start and the result posted', () => responseUrl.requests.filter((r) => r.path === path).length >= 2, 60);
    const posts = responseUrl.requests.filter((r) => r.path === path).map((r) => JSON.parse(r.body).text as string);
    expect(posts[0]).toContain('started');
    expect(posts[1]).toContain('succeeded');
    expect(posts.length).toBeLessThanOrEqual(5);
  });

  it('answers status with what the mapped user may read', async () => {
    const answer = (await slack(command('U0ALICE', 'status'))).json();
    expect(answer.text).toContain('*development*');
    expect(answer.text).not.toContain('production');
  });

  it('politely refuses an unmapped user, and audits it', async () => {
    const answer = await slack(command('U0STRANGER', 'deploy development'));
    expect(answer.statusCode).toBe(200);
    expect(answer.json().text).toMatch(/isn't linked/);
    expect((await refusals('slack_user_unmapped')).some((r: { principal: string }) => r.principal === 'slack:U0STRANGER')).toBe(true);
  });

  it('refuses what the mapped grants do not allow, in words, audited', async () => {
    const answer = (await slack(command('U0ALICE', 'deploy testing'))).json();
    expect(answer.text).toMatch(/no environment named "testing"/);
    expect((await refusals('environment_not_found')).some((r: { principal: string }) => r.principal === 'alice')).toBe(true);
  });

  it.each([
    { name: 'a wrong signature', request: () => signed('/v1/chatops/slack/commands', { user_id: 'U0ALICE', command: '/stackpilot', text: 'status', response_url: 'https://x' }, { secret: 'not-the-secret' }), status: 401, code: 'slack_signature_invalid' },
    { name: 'a timestamp older than 5 minutes', request: () => signed('/v1/chatops/slack/commands', { user_id: 'U0ALICE', command: '/stackpilot', text: 'status', response_url: 'https://x' }, { timestamp: Math.floor(Date.now() / 1000) - 301 }), status: 401, code: 'slack_timestamp_stale' },
    { name: 'a malformed body', request: () => signed('/v1/chatops/slack/commands', {}, { body: '%%%&&&=' }), status: 400, code: 'invalid_slack_request' },
    { name: 'an unknown slash command', request: () => command('U0ALICE', 'explode development'), status: 400, code: 'unknown_command' },
    { name: 'a command for another app', request: () => command('U0ALICE', 'status', { command: '/deploy' }), status: 400, code: 'unknown_command' },
    { name: 'a malformed interaction', request: () => signed('/v1/chatops/slack/interactions', { payload: '{"type":"view_submission"}' }), status: 400, code: 'invalid_slack_request' },
  ])('refuses $name with $status $code, audited, queueing nothing', async ({ request, status, code }) => {
    const before = await operationCount();
    const answer = await slack(request());
    expect(answer.statusCode).toBe(status);
    expect(answer.json()).toMatchObject({ code });
    expect((await refusals(code)).length).toBeGreaterThan(0);
    expect(await operationCount()).toBe(before);
  });

  it('refuses a replayed request', async () => {
    const request = command('U0ALICE', 'status');
    expect((await slack(request)).statusCode).toBe(200);
    const replay = await slack(request);
    expect(replay.statusCode).toBe(403);
    expect(replay.json().code).toBe('slack_replay');
    expect((await refusals('slack_replay')).length).toBeGreaterThan(0);
  });

  it('posts approval requests with Approve and Reject buttons, and sends production approvals to the dashboard', async () => {
    const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/production/operations', payload: { type: 'preview' } })).json();
    // What issue 10 writes when an update waits for approval; here the outbox row alone.
    await service.database.db.transaction().execute((tx) => service.repositories.outbox.append(tx, {
      kind: 'approval.requested', environment: 'production', operationId: id, payload: { type: 'update', requestedBy: 'carol', summary: { update: 2 } },
    }));
    await waitFor('the approval request in Slack', () => slackApi.requests.length > 0, 20);
    const post = slackApi.requests[0]!;
    expect(post.path).toBe('/api/chat.postMessage');
    expect(post.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    const message = JSON.parse(post.body);
    expect(message.channel).toBe('C0APPROVALS');
    expect(message.blocks[1].elements.map((e: { action_id: string; value: string }) => [e.action_id, e.value])).toEqual([['approve', id], ['reject', id]]);

    const press = signed('/v1/chatops/slack/interactions', { payload: JSON.stringify({ type: 'block_actions', user: { id: 'U0BOB' }, actions: [{ action_id: 'approve', value: id }] }) });
    const answer = await slack(press);
    expect(answer.statusCode).toBe(200);
    expect(answer.json().text).toMatch(/second factor/);
    expect((await refusals('second_factor_required')).some((r: { principal: string }) => r.principal === 'bob')).toBe(true);
  });

  it('refuses an approver who is the requester, before anything is decided', async () => {
    // Alice asks from Slack, then presses Approve on her own request.
    const { text } = (await slack(command('U0ALICE', 'preview development'))).json();
    const id = /operation ([0-9a-f-]{36})/.exec(text)![1]!;
    const press = (user: string) => signed('/v1/chatops/slack/interactions', { payload: JSON.stringify({ type: 'block_actions', user: { id: user }, actions: [{ action_id: 'approve', value: id }] }) });
    expect((await slack(press('U0ALICE'))).json().text).toMatch(/someone else must decide it/);
    expect((await refusals('approver_is_requester')).some((r: { principal: string }) => r.principal === 'alice')).toBe(true);
    // Another person passes that rule, and meets the next: a preview never awaits approval.
    expect((await slack(press('U0BOB'))).json().text).toMatch(/not awaiting approval/);
  });

  it('posts advance notices of scheduled maintenance to the approval channel', async () => {
    const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/production/operations', payload: { type: 'preview' } })).json();
    // What the calendar writes when a change is scheduled; here the outbox row alone.
    await service.database.db.transaction().execute((tx) => service.repositories.outbox.append(tx, {
      kind: 'maintenance.notice', environment: 'production', operationId: id,
      payload: { notice: 'scheduled', type: 'update', notBefore: '2026-11-29T07:00:00.000Z', requestedBy: 'carol', summary: { update: 2, same: 5 } },
    }));
    const post = await waitFor('the notice in Slack', () => slackApi.requests.find((r) => JSON.parse(r.body).text?.startsWith('Scheduled maintenance')), 20);
    expect(post.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    expect(JSON.parse(post.body)).toEqual({
      channel: 'C0APPROVALS', text: `Scheduled maintenance: update of *production* by carol at 2026-11-29T07:00:00.000Z (update 2): operation ${id}`,
    });
  });
});
