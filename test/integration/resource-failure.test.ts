// A failed update says what failed: the resource the Kubernetes API refused and the API's own
// reason, with errorCode resource_failed, not "pulumi exited with 1".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireKubeconfig } from '../support/programs.js';
import { startTestService, type TestService } from '../support/service.js';

describe('a resource the cluster refuses', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ fixture: 'k8s-failing', database: 'sqlite', config: { kubeconfig: requireKubeconfig() } });
  });
  afterAll(async () => {
    if (service?.adminSession) {
      const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'destroy' } })).json();
      await service.inject(`/v1/operations/${id}?wait=60`);
    }
    await service?.close();
  });

  it('fails the update with resource_failed, naming the resource and the API\'s reason', async () => {
    const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'update' } })).json();
    const done = (await service.inject(`/v1/operations/${id}?wait=60`)).json();
    expect(done).toMatchObject({ status: 'failed', errorCode: 'resource_failed' });
    expect(done.error).toContain('urn:pulumi:development::k8s-failing::kubernetes:core/v1:ConfigMap::invalid');
    expect(done.error).toMatch(/Not_A_Valid_Name|Invalid value/);
    expect(done.error).not.toMatch(/exited with/);
  });
});
