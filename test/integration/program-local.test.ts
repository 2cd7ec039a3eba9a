// The real program on the real engine and the local cluster, through the service: development
// and testing go up with every Deployment Ready (Kubernetes says so), a refresh finds no drift,
// an update scoped to workloads leaves the infrastructure untouched, destroy leaves nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlJson, rolloutStatus } from '../support/kubectl.js';
import { requireKubeconfig } from '../support/programs.js';
import { startTestService, type TestService } from '../support/service.js';
import { setConfig, stackConfig } from '../support/stack-config.js';
import { parseSse } from '../support/sse.js';

const kubeconfig = requireKubeconfig();
const EXPECTED_REPLICAS = { development: 1, testing: 2 } as const;
type LocalEnv = keyof typeof EXPECTED_REPLICAS;

describe('the TORONTO AI TEAM AGENT program on the local cluster', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ fixture: 'project', database: 'sqlite', config: { kubeconfig } });
  });
  afterAll(async () => {
    for (const env of Object.keys(EXPECTED_REPLICAS)) await run(env as LocalEnv, 'destroy').catch(() => undefined);
    await service?.close();
  });

  async function run(env: LocalEnv, type: string, scope = 'all') {
    const { id } = (await service.inject({ method: 'POST', url: `/v1/environments/${env}/operations`, payload: { type, scope } })).json();
    const done = (await service.inject({ url: `/v1/operations/${id}?wait=60` })).json();
    const again = done.status === 'running' || done.status === 'queued' ? (await service.inject({ url: `/v1/operations/${id}?wait=60` })).json() : done;
    expect(again.status, `${env} ${type}: ${again.error}`).toBe('succeeded');
    return again;
  }

  it('brings development and testing up, every Deployment Ready', async () => {
    const results = await Promise.all((['development', 'testing'] as const).map((env) => run(env, 'update')));
    for (const [i, env] of (['development', 'testing'] as const).entries()) {
      expect(results[i].outputs).toMatchObject({ namespace: `toronto-ai-${env}`, url: `https://${env === 'development' ? 'dev' : 'test'}.toronto-ai.local` });
      for (const name of ['backend', 'frontend']) {
        const deployment = await kubectlJson(kubeconfig, '-n', `toronto-ai-${env}`, 'get', 'deployment', name);
        expect(deployment?.status?.readyReplicas, `${env}/${name}`).toBe(EXPECTED_REPLICAS[env]);
      }
      const db = await kubectlJson(kubeconfig, '-n', `toronto-ai-${env}-data`, 'get', 'statefulset', 'postgres');
      expect(db?.status?.readyReplicas).toBe(1);
      expect(JSON.stringify(results[i].outputs)).not.toMatch(/password/i);
    }
  });

  it('finds no drift on refresh', async () => {
    const refreshed = await run('development', 'refresh');
    expect(Object.keys(refreshed.summary)).toEqual(['same']);
  });

  it('updates only the workloads when the scope says so', async () => {
    await setConfig(service.program, 'development', 'backend', JSON.stringify({
      image: 'registry.toronto-ai.local/backend:1.1.0', replicas: 1, cpu: '50m', memory: '128Mi', cpuLimit: '250m', memoryLimit: '256Mi',
    }));
    const updated = await run('development', 'update', 'workloads');
    expect(updated.summary.update).toBeGreaterThanOrEqual(1);
    const events = parseSse((await service.inject({ url: `/v1/operations/${updated.id}/events` })).body);
    const changed = events.filter((e) => e.event === 'resourcePre').map((e) => JSON.parse(e.data).metadata)
      .filter((m: { op: string }) => m.op !== 'same');
    expect(changed.length).toBeGreaterThan(0);
    for (const step of changed) expect(step.urn).toMatch(/stackpilot:scope:Workloads/);
    const backend = await kubectlJson(kubeconfig, '-n', 'toronto-ai-development', 'get', 'deployment', 'backend');
    expect(backend?.spec?.template?.spec?.containers?.[0]?.image).toBe('registry.toronto-ai.local/backend:1.1.0');
  });

  it('updates only the infrastructure when the scope says so', async () => {
    const database = stackConfig(service.program, 'development')['toronto-ai-team-agent:database'] as Record<string, unknown>;
    await setConfig(service.program, 'development', 'database', JSON.stringify({ ...database, user: 'toronto_ai_owner' }));
    const updated = await run('development', 'update', 'infrastructure');
    expect((updated.summary.update ?? 0) + (updated.summary.replace ?? 0)).toBeGreaterThanOrEqual(1); // the database credentials and their users
    const events = parseSse((await service.inject({ url: `/v1/operations/${updated.id}/events` })).body);
    // Resources outside the targets show up as `same` steps; what changed is all infrastructure.
    const changed = events.filter((e) => e.event === 'resourcePre').map((e) => JSON.parse(e.data).metadata)
      .filter((m: { op: string }) => m.op !== 'same');
    expect(changed.map((m: { urn: string }) => m.urn)).toEqual(expect.arrayContaining([expect.stringMatching(/Infrastructure\$kubernetes:core\/v1:Secret::postgres-credentials$/)]));
    for (const step of changed) expect(step.urn).toMatch(/stackpilot:scope:Infrastructure/);
    // The new credentials change the database's pod template. The update can end before the
    // StatefulSet controller has even seen the new spec (see rolloutStatus), so the replaced pod
    // is awaited here, where it was started, before the next test looks at it.
    await rolloutStatus(kubeconfig, 'toronto-ai-development-data', 'statefulset/postgres');
  });

  it('destroys only the workloads when the scope says so, and leaves the infrastructure', async () => {
    const databasePod = () => kubectlJson(kubeconfig, '-n', 'toronto-ai-development-data', 'get', 'pod', 'postgres-0');
    const before = await databasePod();
    const destroyed = await run('development', 'destroy', 'workloads');
    expect(destroyed.summary.delete).toBeGreaterThan(0);
    expect(destroyed.resourceCount).toBeGreaterThan(0);
    expect(await kubectlJson(kubeconfig, 'get', 'namespace', 'toronto-ai-development')).toBeUndefined();
    const db = await kubectlJson(kubeconfig, '-n', 'toronto-ai-development-data', 'get', 'statefulset', 'postgres');
    expect(db?.status?.readyReplicas).toBe(1);
    // The same database pod, never restarted: the destroy did not touch it.
    const after = await databasePod();
    expect(after?.metadata?.uid).toBe(before?.metadata?.uid);
    expect(after?.status?.containerStatuses?.[0]?.restartCount).toBe(before?.status?.containerStatuses?.[0]?.restartCount);
  });

  it('destroys everything it made', async () => {
    for (const env of ['development', 'testing'] as const) {
      const destroyed = await run(env, 'destroy');
      expect(destroyed.resourceCount).toBe(0);
      expect(await kubectlJson(kubeconfig, 'get', 'namespace', `toronto-ai-${env}`)).toBeUndefined();
      expect(await kubectlJson(kubeconfig, 'get', 'namespace', `toronto-ai-${env}-data`)).toBeUndefined();
    }
  });
});
