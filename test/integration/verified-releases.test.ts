// Verified releases on the real TORONTO AI TEAM AGENT, on the local cluster's real node, with a
// real Prometheus scraping an exporter whose error ratio the test sets. Release 1 bakes and is
// verified; release 2 (a new backend image) meets an error ratio of 0.5 and Stackpilot rolls it
// back on its own within the bake period, as system:verifier, with the reason; the Deployment
// read from the Kubernetes API runs release 1's image again. The same change with the ratio at 0
// is verified; with Prometheus unreachable it ends inconclusive and nothing is rolled back. A
// Deployment changed behind Pulumi's back fails the rollout check.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { kubectlJson } from '../support/kubectl.js';
import { requireKubeconfig } from '../support/programs.js';
import { startPrometheus, type Prometheus } from '../support/prometheus.js';
import { settled } from '../support/releases.js';
import { startTestService, type TestService } from '../support/service.js';
import { setConfig } from '../support/stack-config.js';
import { ERROR_RATIO_METRIC, startTestExporter, type TestExporter } from '../support/test-exporter.js';
import { waitFor } from '../support/wait.js';

const kubeconfig = requireKubeconfig();
const REGISTRY = 'registry.toronto-ai.local';
const BAKE_SECONDS = 20;

describe.each(DATABASES)('verified releases on %s', (database) => {
  const namespace = `toronto-ai-verify-${randomBytes(3).toString('hex')}`;
  let service: TestService;
  let exporter: TestExporter;
  let prometheus: Prometheus;

  const checks = (url: string) => ({
    bakeSeconds: BAKE_SECONDS, rollout: true,
    prometheus: { url, queries: [{ name: 'error-ratio', query: ERROR_RATIO_METRIC, condition: '< 0.05', interval: 5, count: 3, failureLimit: 1, consecutiveErrorLimit: 2 }] },
  });

  beforeAll(async () => {
    exporter = await startTestExporter(0);
    prometheus = await startPrometheus(exporter.metricsUrl);
    service = await startTestService({
      fixture: 'project', database, config: { kubeconfig },
      prepare: (program) => setConfig(program, 'development', 'namespace', namespace),
    });
    const set = await service.inject({ method: 'PUT', url: '/v1/environments/development/health-checks', payload: checks(prometheus.url) });
    expect(set.statusCode, set.body).toBe(200);
  }, 180_000);

  afterAll(async () => {
    if (service) {
      const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'destroy' } })).json();
      await settled(service, id);
      await service.close();
    }
    if (prometheus) {
      await prometheus.close();
      expect(() => process.kill(prometheus.pid, 0)).toThrow(); // no Prometheus process is left
    }
    await exporter?.close();
  }, 600_000);

  /** The error ratio Prometheus reads, once it has scraped the exporter's new value. */
  const errorRatio = async (value: number) => {
    exporter.set(value);
    await waitFor(`Prometheus to read ${value}`, async () => (await prometheus.query(ERROR_RATIO_METRIC))[0]?.value === value, 30, 250);
  };
  const deploy = async (backend: string) => {
    const response = await service.inject({
      method: 'POST', url: '/v1/environments/development/operations',
      payload: { type: 'update', config: { set: { 'backend.image': `${REGISTRY}/backend:${backend}` } } },
    });
    expect(response.statusCode, response.body).toBe(202);
    const done = await settled(service, response.json().id);
    expect(done.status, done.error).toBe('succeeded');
    const release = (await service.inject({ url: '/v1/environments/development' })).json().currentRelease;
    expect(release.operationId).toBe(done.id);
    expect(release.verification).toBe('verifying');
    return release as { id: string; number: number };
  };
  /** The release's verification once it has ended. */
  const verified = async (release: { id: string }) => waitFor('the verification to end', async () => {
    const verification = (await service.inject({ url: `/v1/environments/development/releases/${release.id}/verification` })).json();
    return verification.status !== 'verifying' && verification;
  }, 180, 500);
  const backendImage = async () => (await kubectlJson(kubeconfig, '-n', namespace, 'get', 'deployment', 'backend'))?.spec.template.spec.containers[0].image;
  const operations = async () => (await service.inject({ url: '/v1/environments/development/operations?limit=100' })).json().items as Array<{ id: string }>;

  it('verifies release 1 after its bake period: rollout and error ratio pass', async () => {
    const release = await deploy('1.0.0');
    const verification = await verified(release);
    expect(verification.status, verification.reason).toBe('verified');
    expect(Date.parse(verification.finishedAt)).toBeGreaterThanOrEqual(Date.parse(verification.bakeUntil));
    expect(verification.checks['query:error-ratio']).toMatchObject({ measurements: 3, failures: 0, errors: 0 });
    expect(verification.checks.rollout.measurements).toBeGreaterThan(1);
    expect(verification.checks.rollout.failures).toBe(0);
    expect((await service.inject({ url: `/v1/environments/development/releases/${release.id}` })).json().verification).toBe('verified');
  });

  it('rolls release 2 back on its own, within its bake period, when the error ratio is 0.5', async () => {
    await errorRatio(0.5);
    const release = await deploy('1.1.0');
    expect(await backendImage()).toBe(`${REGISTRY}/backend:1.1.0`);
    const verification = await verified(release);
    expect(verification.status).toBe('failed_verification');
    expect(verification.reason).toContain('error-ratio');
    expect(verification.reason).toContain('0.5');
    expect(Date.parse(verification.finishedAt)).toBeLessThan(Date.parse(verification.bakeUntil));
    await errorRatio(0); // the release rolled back to bakes as well: let it pass

    const rollback = await settled(service, verification.rollbackOperationId);
    expect(rollback.status, rollback.error).toBe('succeeded');
    expect(rollback.requestedBy).toBe('system:verifier');
    expect(verification.reason).toMatch(new RegExp(`^release ${release.number} failed verification: query error-ratio`));
    expect(rollback.spec.rollback.automatic.reason).toBe(verification.reason);
    expect(rollback.message).toContain(verification.reason);
    expect(await backendImage()).toBe(`${REGISTRY}/backend:1.0.0`);

    const [now, failed] = (await service.inject({ url: '/v1/environments/development/releases' })).json().items;
    expect(failed).toMatchObject({ id: release.id, status: 'rolled_back', verification: 'failed_verification' });
    expect(now).toMatchObject({ status: 'current', images: { 'backend.image': `${REGISTRY}/backend:1.0.0` } });
    expect((await verified(now)).status).toBe('verified');

    const events = await service.repositories.outbox.after(0, 10_000);
    expect(events.find((e) => e.kind === 'rollback.triggered')).toMatchObject({
      operationId: rollback.id, payload: { releaseId: release.id, number: release.number, to: { number: 1 }, reason: expect.stringContaining('error-ratio') },
    });
    expect(events.find((e) => e.kind === 'release.verification_ended' && e.payload.releaseId === release.id)?.payload.status).toBe('failed_verification');
    const audit = (await service.inject({ url: '/v1/audit?principal=system%3Averifier&limit=100' })).json().items as Array<{ action: string; result: string }>;
    expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'rollback', result: 'allowed' }), expect.objectContaining({ action: 'failReleaseVerification' })]));
  });

  it('verifies the same change with the error ratio at 0', async () => {
    await errorRatio(0);
    const release = await deploy('1.1.0');
    const verification = await verified(release);
    expect(verification.status, verification.reason).toBe('verified');
    expect(verification.rollbackOperationId).toBeNull();
    expect(await backendImage()).toBe(`${REGISTRY}/backend:1.1.0`);
  });

  it('ends inconclusive with Prometheus unreachable, rolling nothing back; promotion out of it is refused', async () => {
    const set = await service.inject({ method: 'PUT', url: '/v1/environments/development/health-checks', payload: checks('http://127.0.0.1:1') });
    expect(set.statusCode, set.body).toBe(200);
    await errorRatio(0.5); // what Prometheus would say, were it reachable
    const release = await deploy('1.0.0');
    const before = await operations();
    const verification = await verified(release);
    expect(verification.status).toBe('inconclusive');
    expect(verification.reason).toContain('3 times in a row');
    expect(verification.rollbackOperationId).toBeNull();
    expect(verification.checks['query:error-ratio']).toMatchObject({ errors: 3, failures: 0 });
    expect(await operations()).toEqual(before); // nothing was queued
    expect(await backendImage()).toBe(`${REGISTRY}/backend:1.0.0`);
    const events = await service.repositories.outbox.after(0, 10_000);
    expect(events.find((e) => e.kind === 'release.verification_ended' && e.payload.releaseId === release.id)?.payload).toMatchObject({ status: 'inconclusive', rollback: null });

    const promotion = await service.inject({ method: 'POST', url: '/v1/environments/testing/promotions', payload: {} });
    expect(promotion.statusCode, promotion.body).toBe(409);
    expect(promotion.json().code).toBe('release_not_verified');
  });

  it('fails a release whose Deployment stops running its image, and never rolls back an automatic rollback in turn', async () => {
    const set = await service.inject({ method: 'PUT', url: '/v1/environments/development/health-checks', payload: { bakeSeconds: BAKE_SECONDS, rollout: true } });
    expect(set.statusCode, set.body).toBe(200);
    const release = await deploy('1.1.0');
    // Someone changes the Deployment behind Pulumi's back while the release bakes.
    await kubectlJson(kubeconfig, '-n', namespace, 'set', 'image', 'deployment/backend', `backend=${REGISTRY}/backend:1.0.0`);
    const verification = await verified(release);
    expect(verification.status).toBe('failed_verification');
    expect(verification.reason).toContain(`backend runs ${REGISTRY}/backend:1.0.0, not the release's ${REGISTRY}/backend:1.1.0`);
    const rollback = await settled(service, verification.rollbackOperationId);
    expect(rollback.status, rollback.error).toBe('succeeded');
    const lastVerified = (await service.inject({ url: `/v1/environments/development/releases/${rollback.spec.rollback.to}` })).json();
    expect(lastVerified).toMatchObject({ verification: 'verified', images: { 'backend.image': `${REGISTRY}/backend:1.1.0` } });

    // Pulumi's state already says 1.1.0, so the rollback changes nothing in the cluster and its
    // release fails the same check: it is not rolled back again.
    const made = (await service.inject({ url: '/v1/environments/development' })).json().currentRelease;
    expect(made.operationId).toBe(rollback.id);
    const again = await verified(made);
    expect(again.status).toBe('failed_verification');
    expect(again.reason).toContain('no rollback: it was made by an automatic rollback');
    expect(again.rollbackOperationId).toBeNull();
  });
});
