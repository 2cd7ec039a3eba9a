// The `stackpilot` CLI against a real service over HTTP, as CI runs it: exit codes of a deploy
// that succeeds, fails, is cancelled or is still pending when the wait ends; --follow loses no
// event across a forced reconnect; usage and credential errors exit 4 and queue nothing; and a
// GitHub Actions OIDC token is fetched and accepted.
import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { runCli, startCli } from '../support/cli.js';
import { startFlakyProxy } from '../support/flaky-proxy.js';
import { startTestService, type TestService } from '../support/service.js';
import { setFileConfig } from '../support/stack-config.js';
import { waitFor } from '../support/wait.js';

const ISSUER = 'https://token.actions.githubusercontent.test';

describe.each(DATABASES)('the stackpilot CLI on %s', (database) => {
  let service: TestService;
  let url: string;
  let github: FastifyInstance;
  let env: Record<string, string>;

  beforeAll(async () => {
    // GitHub Actions' side: a JWKS and the runner's token endpoint, which signs for the audience asked.
    const pair = await generateKeyPair('ES256');
    github = Fastify();
    github.get('/jwks', async () => ({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'gh-1', alg: 'ES256', use: 'sig' }] }));
    github.get('/token', async (request, reply) => {
      if (request.headers.authorization !== 'Bearer runner-request-token') return reply.code(401).send({});
      const audience = (request.query as { audience?: string }).audience ?? '';
      const value = await new SignJWT({ repository: 'toronto/agent', ref: 'refs/heads/main' }).setProtectedHeader({ alg: 'ES256', kid: 'gh-1' })
        .setSubject('repo:toronto/agent:ref:refs/heads/main').setIssuer(ISSUER).setAudience(audience).setIssuedAt().setExpirationTime('5m').sign(pair.privateKey);
      return { value };
    });
    const githubUrl = await github.listen({ host: '127.0.0.1', port: 0 });
    service = await startTestService({
      database,
      prepare: (program) => {
        setFileConfig(program, 'testing', 'failWith', 'the release is broken');
        setFileConfig(program, 'staging', 'sleepMs', '20000');
        setFileConfig(program, 'production', 'markers', '40');
        setFileConfig(program, 'production', 'markerDelayMs', '50');
      },
      config: {
        metricsPort: 0,
        oidcIssuers: [{ issuer: ISSUER, audience: 'stackpilot', jwksUri: `${githubUrl}/jwks`, rules: [{ claims: { repository: 'toronto/agent' }, grants: [{ role: 'deployer', environments: ['development'] }] }] }],
      },
    });
    url = await service.app.listen({ host: '127.0.0.1', port: 0 });
    env = { STACKPILOT_URL: url, STACKPILOT_TOKEN: service.adminKey };
    Object.assign(env, { GITHUB_URL: githubUrl });
  });
  afterAll(async () => {
    await service?.close();
    await github?.close();
  });

  const withoutHelpers = ({ GITHUB_URL: _g, ...rest }: Record<string, string>) => rest;
  const cli = (...args: string[]) => runCli(args, withoutHelpers(env));
  const operationsOf = async (environment: string) => (await service.inject(`/v1/environments/${environment}/operations?limit=100`)).json().items;

  it('exits 0 for a deploy that succeeds, printing the operation as JSON', async () => {
    const { code, stdout, stderr } = await cli('--json', 'deploy', 'development', '--wait', '-m', 'from CI');
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ environment: 'development', type: 'update', status: 'succeeded', message: 'from CI' });
  });

  it('exits 1 for a deploy that fails, naming the error', async () => {
    const { code, stdout } = await cli('deploy', 'testing', '--wait');
    expect(code).toBe(1);
    expect(stdout).toMatch(/failed/);
    expect(stdout).toContain('program_failed');
  });

  it('exits 2 for a deploy that is cancelled while it is followed, and 3 when the wait or the follow ends first', async () => {
    const timedOut = await cli('--json', 'deploy', 'staging', '--wait', '--timeout', '2');
    expect(timedOut.code).toBe(3);
    const first = JSON.parse(timedOut.stdout);
    expect(['queued', 'running']).toContain(first.status);

    // --follow gives up at its timeout too, and exits at once (nothing left open).
    const started = Date.now();
    const gaveUp = await cli('deploy', 'staging', '--follow', '--timeout', '2');
    expect(gaveUp.code).toBe(3);
    expect(Date.now() - started).toBeLessThan(10_000);
    const abandoned = /queued update of staging: ([0-9a-f-]{36})/.exec(gaveUp.stderr)![1]!;
    await service.inject({ method: 'POST', url: `/v1/operations/${abandoned}/cancel` });

    const followed = startCli(['deploy', 'staging', '--follow'], withoutHelpers(env));
    const second = await waitFor('the second deploy to queue', async () => (await operationsOf('staging')).find((o: { id: string }) => ![first.id, abandoned].includes(o.id)), 20);
    // Cancel the first (running) and the second once it runs: the follower sees its own end.
    await service.inject({ method: 'POST', url: `/v1/operations/${first.id}/cancel` });
    await waitFor('the second deploy to run', async () => (await service.inject(`/v1/operations/${second.id}`)).json().status === 'running', 60);
    await waitFor('the engine to lock the stack', async () => (await service.inject('/v1/environments/staging')).json().locks?.length > 0, 30);
    await service.inject({ method: 'POST', url: `/v1/operations/${second.id}/cancel` });
    expect(await followed.exited).toBe(2);
    expect(followed.stdout.join('')).toContain('cancelled');
  });

  it('follows the event stream across a forced reconnect without losing or repeating an event', async () => {
    const proxy = await startFlakyProxy(new URL(url), 3000);
    try {
      const run = startCli(['--json', 'deploy', 'production', '--follow'], { ...withoutHelpers(env), STACKPILOT_URL: proxy.url });
      const code = await run.exited;
      expect(code, run.stderr.join('')).toBe(0);
      expect(proxy.cuts).toBe(1);
      expect(run.stderr.join('')).toMatch(/stream dropped; resuming after event \d+/);
      const lines = run.stdout.join('').trim().split('\n').map((line) => JSON.parse(line));
      const events = lines.filter((line) => line.event);
      const operation = lines.at(-1);
      expect(operation.status).toBe('succeeded');
      const stored = (await service.inject({ url: `/v1/operations/${operation.id}/events` })).body.match(/^id: \d+$/gm)!.length;
      expect(events.map((e) => e.id)).toEqual(Array.from({ length: stored }, (_, i) => i + 1));
      expect(events.at(-1).event).toBe('result');
    } finally {
      await proxy.close();
    }
  });

  it('exits 4 for a --set it cannot parse, and for a bad credential, queueing nothing', async () => {
    const before = (await operationsOf('development')).length;
    const badSet = await cli('deploy', 'development', '--set', 'backend image=v2');
    expect(badSet.code).toBe(4);
    expect(badSet.stderr).toMatch(/--set "backend image": not a configuration key/);
    const badSecret = await cli('deploy', 'development', '--secret', 'databasePassword=hunter2');
    expect(badSecret.code).toBe(4);
    expect(badSecret.stderr).toMatch(/as @file/);
    const badToken = await runCli(['deploy', 'development'], { STACKPILOT_URL: url, STACKPILOT_TOKEN: 'sp_notakey' });
    expect(badToken.code).toBe(4);
    expect(badToken.stderr).toMatch(/401/);
    const noUrl = await runCli(['envs'], { STACKPILOT_TOKEN: service.adminKey });
    expect(noUrl.code).toBe(4);
    expect((await operationsOf('development')).length).toBe(before);
  });

  it('uses a GitHub Actions OIDC token when there is no STACKPILOT_TOKEN', async () => {
    const actions = { STACKPILOT_URL: url, ACTIONS_ID_TOKEN_REQUEST_URL: `${env.GITHUB_URL}/token?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-request-token' };
    const { code, stdout, stderr } = await runCli(['--json', 'preview', 'development', '--wait'], actions);
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ requestedBy: 'oidc:repo:toronto/agent:ref:refs/heads/main', status: 'succeeded' });
    const refused = await runCli(['preview', 'development'], { ...actions, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong' });
    expect(refused.code).toBe(4);
  });

  it('reads environments, status, operations and logs', async () => {
    const envs = JSON.parse((await cli('--json', 'envs')).stdout);
    expect(envs.map((e: { name: string }) => e.name)).toEqual(['development', 'testing', 'staging', 'production']);
    expect((await cli('status', 'development')).stdout).toMatch(/^development: idle/);
    const ops = JSON.parse((await cli('--json', 'ops', 'development', '--limit', '1')).stdout);
    expect(ops.items).toHaveLength(1);
    const logs = await cli('logs', ops.items[0].id);
    expect(logs.code).toBe(0);
    expect(logs.stdout.length).toBeGreaterThan(0);
    const followed = await cli('logs', ops.items[0].id, '-f');
    expect(followed.code).toBe(0);
    expect(followed.stdout).toMatch(/\] result succeeded/);
  });

  it('exits 3 when a deploy waits for approval, and approves, promotes and rolls back through the API', async () => {
    const guarded = await startTestService({ database, config: { metricsPort: 0, protectedEnvironments: ['testing'], promotableKeys: ['workloadGeneration'] } });
    try {
      const address = await guarded.app.listen({ host: '127.0.0.1', port: 0 });
      const as = (token: string, ...args: string[]) => runCli(args, { STACKPILOT_URL: address, STACKPILOT_TOKEN: token });
      const shipped = await as(guarded.adminKey, '--json', 'deploy', 'development', '--set', 'workloadGeneration=g2', '--wait');
      expect(shipped.code, shipped.stderr).toBe(0);
      const promoted = await as(guarded.adminKey, '--json', 'promote', 'testing', '--wait');
      expect(promoted.code, promoted.stderr).toBe(3);
      const waiting = JSON.parse(promoted.stdout);
      expect(waiting).toMatchObject({ status: 'awaiting_approval', spec: { promotion: { from: 'development' } } });
      const followed = await as(guarded.adminKey, 'deploy', 'testing', '--follow', '--timeout', '3');
      expect(followed.code).toBe(3); // queued behind the plan: it never runs while the plan waits
      const behind = /queued update of testing: ([0-9a-f-]{36})/.exec(followed.stderr)![1]!;
      expect((await guarded.inject(`/v1/operations/${behind}`)).json().status).toBe('queued');
      await guarded.inject({ method: 'POST', url: `/v1/operations/${behind}/cancel` });

      const approver = (await guarded.inject({ method: 'POST', url: '/v1/keys', payload: { name: 'approver', principal: 'approver', grants: [{ role: 'approver', environments: ['testing'] }] } })).json().token;
      const self = await as(guarded.adminKey, 'approve', waiting.id);
      expect(self.code).not.toBe(0);
      expect(self.stderr).toContain('approver_is_requester');
      const approved = await as(approver, '--json', 'approve', waiting.id, '-c', 'checked');
      expect(approved.code, approved.stderr).toBe(0);
      const applied = (await guarded.inject(`/v1/operations/${waiting.id}?wait=60`)).json();
      expect(applied.status, applied.error).toBe('succeeded');
      expect((await guarded.inject('/v1/environments/testing')).json().outputs.workloadGeneration).toBe('g2');
    } finally {
      await guarded.close();
    }
  });
});
