// Recovery against what really runs: the TORONTO AI TEAM AGENT on the local cluster's real node.
//   - A Deployment scaled by hand with kubectl is drift: the check names that Deployment, and the
//     remediation its schedule asks for (an update with --refresh) scales it back.
//   - The engine killed (kill -9) while it creates a Deployment leaves pending creates in the
//     state; a repair session clears them, and the next update succeeds.
// Every check of what runs reads the Kubernetes API. One database: the recovery logic's storage
// is tested on both by the fixture-based tests (drift-checks, repair-sessions).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineProcesses } from '../../src/engine/engine-processes.js';
import { toolchainPaths } from '../../toolchain/versions.mjs';
import { kubectlJson } from '../support/kubectl.js';
import { requireKubeconfig } from '../support/programs.js';
import { settled } from '../support/releases.js';
import { startTestService, type TestService } from '../support/service.js';
import { setConfig } from '../support/stack-config.js';
import { waitFor } from '../support/wait.js';

const kubeconfig = requireKubeconfig();
const namespace = `toronto-ai-recovery-${randomBytes(3).toString('hex')}`;
const kubectl = (...args: string[]) => promisify(execFile)(join(toolchainPaths().bin, 'kubectl'), ['--kubeconfig', kubeconfig, ...args]);

describe('recovery of development on the local cluster', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({
      fixture: 'project', database: 'sqlite', config: { kubeconfig },
      prepare: async (program) => {
        await setConfig(program, 'development', 'namespace', namespace);
        await setConfig(program, 'development', 'rolloutDeadlineSeconds', '120');
      },
    });
  }, 120_000);

  afterAll(async () => {
    if (!service) return;
    const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'destroy' } })).json();
    await settled(service, id);
    await service.close();
  }, 300_000);

  const run = async (payload: object) => {
    const response = await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload });
    expect(response.statusCode, response.body).toBe(202);
    return settled(service, response.json().id);
  };
  const deployment = async (name: string) => kubectlJson(kubeconfig, '-n', namespace, 'get', 'deployment', name);

  it('clears the pending creates an engine killed mid-create left, and the next update succeeds', async () => {
    const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'update' } })).json();
    // The engine waits for the Deployment to be ready after creating it: killed in that wait.
    await waitFor('the engine to create the backend Deployment', async () => (await deployment('backend')) !== undefined, 240, 100);
    const cli = engineProcesses(id).find((p) => p.command === 'pulumi');
    expect(cli, 'the engine process of the update').toBeDefined();
    process.kill(cli!.pid, 'SIGKILL');
    expect(await settled(service, id)).toMatchObject({ status: 'failed', errorCode: 'engine_killed' });
    const pending = await service.engine.pendingOperations('development');
    expect(pending).toEqual(expect.arrayContaining([{ type: 'creating', urn: expect.stringMatching(/kubernetes:apps\/v1:Deployment::backend$/) }]));

    const opened = await service.inject({ method: 'POST', url: '/v1/environments/development/repairs', payload: { reason: 'engine killed mid-create' } });
    expect(opened.statusCode, opened.body).toBe(201);
    try {
      const cleared = await service.inject({ method: 'POST', url: '/v1/environments/development/repairs/current/steps', payload: { step: 'clear-pending', pendingCreates: 'clear' } });
      expect(cleared.statusCode, cleared.body).toBe(200);
      expect(await service.engine.pendingOperations('development')).toEqual([]);
    } finally {
      // Closed whatever happened, or the next test's operations would wait behind it.
      await service.inject({ method: 'DELETE', url: '/v1/environments/development/repairs/current' });
    }
    expect((await service.inject({ url: '/v1/environments/development/repairs/current' })).json().code).toBe('repair_session_closed');

    // The next update applies the same objects again: Server-Side Apply takes them over, and
    // the stack is whole.
    const next = await run({ type: 'update' });
    expect(next.status, next.error).toBe('succeeded');
    const urns = JSON.parse(await service.engine.exportState('development')).deployment.resources.map((r: { urn: string }) => r.urn);
    expect(urns).toEqual(expect.arrayContaining(pending.map((p) => p.urn)));
    expect((await deployment('backend'))?.status.availableReplicas).toBe(1);
  }, 600_000);

  it('names a Deployment scaled behind its back, and the remediation scales it back', async () => {
    const check = async () => {
      const response = await service.inject({ method: 'POST', url: '/v1/environments/development/drift-checks' });
      expect(response.statusCode, response.body).toBe(202);
      const done = await settled(service, response.json().id);
      expect(done.status, done.error).toBe('succeeded');
      return (await service.inject({ url: '/v1/environments/development/drift' })).json().drift;
    };
    expect(await check()).toMatchObject({ status: 'in_sync', resources: [] });

    await kubectl('-n', namespace, 'scale', 'deployment/backend', '--replicas=3');
    expect((await deployment('backend'))?.spec.replicas).toBe(3);
    const schedule = await service.inject({ method: 'PUT', url: '/v1/environments/development/drift-schedule', payload: { cron: '0 0 1 1 *', remediate: true } });
    expect(schedule.statusCode, schedule.body).toBe(200);

    const drifted = await check();
    expect(drifted.status).toBe('drifted');
    expect(drifted.resources).toEqual([expect.objectContaining({ type: 'kubernetes:apps/v1:Deployment', urn: expect.stringMatching(/::backend$/) })]);
    const [event] = (await service.repositories.outbox.after(0, 10_000)).filter((e) => e.kind === 'drift.detected');
    expect(event?.payload).toMatchObject({ remediation: expect.any(String) });

    const remediation = await settled(service, (event!.payload as { remediation: string }).remediation);
    expect(remediation, remediation.error).toMatchObject({ type: 'update', status: 'succeeded', requestedBy: 'system:drift-schedule' });
    expect((await deployment('backend'))?.spec.replicas).toBe(1);
    expect(await check()).toMatchObject({ status: 'in_sync' });
  }, 600_000);
});
