// The release walkthrough on the real TORONTO AI TEAM AGENT, on the local cluster's real node,
// with testing protected: CI deploys new images to development in one call, promotes them to
// testing, where the update plans and waits for a second person and then applies its plan
// exactly; a plan made stale by a configuration change is refused with Kubernetes untouched;
// a rollback returns the previous images. Every check of what runs reads the Kubernetes API.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { kubectlJson } from '../support/kubectl.js';
import { requireKubeconfig } from '../support/programs.js';
import { person, refusals, settled, type Person } from '../support/releases.js';
import { startTestService, type TestService } from '../support/service.js';
import { setConfig } from '../support/stack-config.js';

const kubeconfig = requireKubeconfig();
const REGISTRY = 'registry.toronto-ai.local';

describe.each(DATABASES)('releases of the TORONTO AI TEAM AGENT on %s', (database) => {
  const suffix = randomBytes(3).toString('hex');
  const namespaces = { development: `toronto-ai-rel-dev-${suffix}`, testing: `toronto-ai-rel-test-${suffix}` };
  let service: TestService;
  let ci: Person;
  let alice: Person;

  beforeAll(async () => {
    service = await startTestService({
      fixture: 'project', database, config: { kubeconfig, protectedEnvironments: ['testing'] },
      prepare: async (program) => {
        for (const [env, namespace] of Object.entries(namespaces)) await setConfig(program, env, 'namespace', namespace);
        await setConfig(program, 'testing', 'rolloutDeadlineSeconds', '120');
      },
    });
    ci = await person(service, 'ci', [{ role: 'deployer', environments: ['development', 'testing'] }]);
    alice = await person(service, 'alice', [{ role: 'approver', environments: ['testing'] }]);
  }, 120_000);

  afterAll(async () => {
    if (!service) return;
    for (const env of ['development', 'testing']) {
      const { id } = (await service.inject({ method: 'POST', url: `/v1/environments/${env}/operations`, payload: { type: 'destroy' } })).json();
      if ((await settled(service, id)).status === 'awaiting_approval') {
        await alice.request({ method: 'POST', url: `/v1/operations/${id}/approve`, payload: {} });
        await settled(service, id);
      }
    }
    await service.close();
  }, 600_000);

  const images = async (env: keyof typeof namespaces) => {
    const image = async (name: string) => (await kubectlJson(kubeconfig, '-n', namespaces[env], 'get', 'deployment', name))?.spec.template.spec.containers[0].image;
    return { backend: await image('backend'), frontend: await image('frontend') };
  };
  const generation = async (env: keyof typeof namespaces) => (await kubectlJson(kubeconfig, '-n', namespaces[env], 'get', 'deployment', 'backend'))?.metadata.generation;
  /** Waits for the plan, has alice approve it, and returns the applied operation. */
  const approveAndApply = async (id: string) => {
    const waiting = await settled(service, id);
    expect(waiting.status, waiting.error).toBe('awaiting_approval');
    const approved = await alice.request({ method: 'POST', url: `/v1/operations/${id}/approve`, payload: { comment: 'checked the plan' } });
    expect(approved.statusCode, approved.body).toBe(200);
    return settled(service, id);
  };

  it('CI ships new images to development in one call', async () => {
    const response = await ci.request({
      method: 'POST', url: '/v1/environments/development/operations',
      payload: { type: 'update', config: { set: { 'backend.image': `${REGISTRY}/backend:1.1.0`, 'frontend.image': `${REGISTRY}/frontend:1.1.0` }, message: 'build 1.1.0' } },
    });
    expect(response.statusCode, response.body).toBe(202);
    const done = await settled(service, response.json().id);
    expect(done.status, done.error).toBe('succeeded');
    expect(await images('development')).toEqual({ backend: `${REGISTRY}/backend:1.1.0`, frontend: `${REGISTRY}/frontend:1.1.0` });
    const release = (await service.inject({ url: '/v1/environments/development' })).json().currentRelease;
    expect(release).toMatchObject({ number: 1, images: { 'backend.image': `${REGISTRY}/backend:1.1.0`, 'frontend.image': `${REGISTRY}/frontend:1.1.0` } });
  });

  it('deploys testing only once a second person approves its plan', async () => {
    const { id } = (await ci.request({ method: 'POST', url: '/v1/environments/testing/operations', payload: { type: 'update', message: 'testing at 1.0.0' } })).json();
    expect((await settled(service, id)).status).toBe('awaiting_approval');
    expect(await kubectlJson(kubeconfig, 'get', 'namespace', namespaces.testing)).toBeUndefined(); // nothing applied yet
    const self = await ci.request({ method: 'POST', url: `/v1/operations/${id}/approve`, payload: {} });
    expect(self.statusCode).toBe(403);
    const applied = await approveAndApply(id);
    expect(applied.status, applied.error).toBe('succeeded');
    expect(await images('testing')).toEqual({ backend: `${REGISTRY}/backend:1.0.0`, frontend: `${REGISTRY}/frontend:1.0.0` });
    expect(await refusals(service, 'ci')).toContainEqual(['approveOperation', 'forbidden']);
  });

  it('promotes development\'s images to testing, applying the approved plan exactly', async () => {
    const pipeline = (await service.inject({ url: '/v1/pipeline' })).json().stages.find((s: { environment: string }) => s.environment === 'testing');
    expect(pipeline.promotion.changes).toEqual({
      'backend.image': [`${REGISTRY}/backend:1.0.0`, `${REGISTRY}/backend:1.1.0`], 'frontend.image': [`${REGISTRY}/frontend:1.0.0`, `${REGISTRY}/frontend:1.1.0`],
    });
    const promoted = await ci.request({ method: 'POST', url: '/v1/environments/testing/promotions', payload: { message: 'alpha' } });
    expect(promoted.statusCode, promoted.body).toBe(202);
    const waiting = await settled(service, promoted.json().id);
    expect(waiting.plan.changes.map((c: { urn: string }) => c.urn.split('::').at(-1)).sort()).toEqual(expect.arrayContaining(['backend', 'frontend']));
    const applied = await approveAndApply(promoted.json().id);
    expect(applied.status, applied.error).toBe('succeeded');
    expect(applied.summary.update).toBeGreaterThanOrEqual(2);
    expect(await images('testing')).toEqual({ backend: `${REGISTRY}/backend:1.1.0`, frontend: `${REGISTRY}/frontend:1.1.0` });
    const release = (await service.inject({ url: '/v1/environments/testing' })).json().currentRelease;
    expect(release).toMatchObject({ number: 2, approvedBy: ['alice'], requestedBy: 'ci' });
  });

  it('refuses a plan made stale by a configuration change, and Kubernetes shows nothing changed', async () => {
    const before = await generation('testing');
    const { id } = (await ci.request({ method: 'POST', url: '/v1/environments/testing/operations', payload: { type: 'update', config: { set: { 'backend.replicas': 3 } } } })).json();
    expect((await settled(service, id)).status).toBe('awaiting_approval');
    const etag = (await ci.request({ url: '/v1/environments/testing/config' })).headers.etag as string;
    expect((await ci.request({ method: 'PATCH', url: '/v1/environments/testing/config', headers: { 'if-match': etag }, payload: { set: { 'backend.replicas': 2 } } })).statusCode).toBe(201);
    const stale = await approveAndApply(id);
    expect(stale).toMatchObject({ status: 'failed', errorCode: 'plan_stale' });
    expect(await generation('testing')).toBe(before);
    expect((await kubectlJson(kubeconfig, '-n', namespaces.testing, 'get', 'deployment', 'backend'))?.spec.replicas).toBe(2);
  });

  it('rolls testing back to the previous images', async () => {
    const rollback = await ci.request({ method: 'POST', url: '/v1/environments/testing/rollbacks', payload: { release: 'previous', message: '1.1.0 misbehaves' } });
    expect(rollback.statusCode, rollback.body).toBe(202);
    const applied = await approveAndApply(rollback.json().id);
    expect(applied.status, applied.error).toBe('succeeded');
    expect(await images('testing')).toEqual({ backend: `${REGISTRY}/backend:1.0.0`, frontend: `${REGISTRY}/frontend:1.0.0` });
    const [now, left] = (await service.inject({ url: '/v1/environments/testing/releases' })).json().items;
    expect(now).toMatchObject({ number: 3, status: 'current', images: { 'backend.image': `${REGISTRY}/backend:1.0.0` } });
    expect(left).toMatchObject({ number: 2, status: 'rolled_back' });
  });
});
