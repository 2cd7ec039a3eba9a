// The Kubernetes rollout check: the release's Deployments (those in the stack's state when its
// verification began) are rolled out with the release's images, and none has fewer available
// replicas than it desires. Read from the cluster the stack targets, each observation is one
// measurement; any shortfall is a failure, and an unreachable API an error.
import type { KubernetesApi } from './kubernetes-api.js';
import type { Measurement } from './verification-progress.js';

export interface DeploymentRef {
  namespace: string;
  name: string;
}

interface Deployment {
  metadata: { generation?: number };
  spec: { replicas?: number; template: { spec: { containers: Array<{ name: string; image: string }> } } };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number };
}

/** The Deployments in an exported stack state (`pulumi stack export`'s JSON). */
export function deploymentsOf(stateExport: string): DeploymentRef[] {
  const state = JSON.parse(stateExport) as { deployment?: { resources?: Array<{ type: string; delete?: boolean; outputs?: { metadata?: { namespace?: string; name?: string } } }> } };
  return (state.deployment?.resources ?? [])
    .filter((r) => r.type === 'kubernetes:apps/v1:Deployment' && !r.delete && r.outputs?.metadata?.name)
    .map((r) => ({ namespace: r.outputs!.metadata!.namespace ?? 'default', name: r.outputs!.metadata!.name! }));
}

/** An image without its tag or digest: registry.example/backend:1.1.0 → registry.example/backend. */
export function repositoryOf(image: string): string {
  return image.replace(/@.*$/, '').replace(/:[^:/]+$/, '');
}

/**
 * One observation of every Deployment; `images`: the release's image settings' values. A
 * container whose repository is one of the release's images must run that image exactly.
 */
export async function measureRollout(api: KubernetesApi, deployments: readonly DeploymentRef[], images: readonly string[]): Promise<Measurement> {
  const problems: string[] = [];
  try {
    for (const ref of deployments) {
      const d = await api.get<Deployment>(`/apis/apps/v1/namespaces/${encodeURIComponent(ref.namespace)}/deployments/${encodeURIComponent(ref.name)}`);
      if (!d) {
        problems.push(`${ref.namespace}/${ref.name} is gone`);
        continue;
      }
      for (const c of d.spec.template.spec.containers) {
        const wanted = images.find((image) => repositoryOf(image) === repositoryOf(c.image));
        if (wanted && wanted !== c.image) problems.push(`${ref.namespace}/${ref.name} runs ${c.image}, not the release's ${wanted}`);
      }
      const desired = d.spec.replicas ?? 1;
      const status = d.status ?? {};
      if ((status.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) problems.push(`${ref.namespace}/${ref.name} has not observed its latest spec`);
      else if ((status.updatedReplicas ?? 0) < desired) problems.push(`${ref.namespace}/${ref.name} has ${status.updatedReplicas ?? 0} of ${desired} replicas updated`);
      if ((status.availableReplicas ?? 0) < desired) problems.push(`${ref.namespace}/${ref.name} has ${status.availableReplicas ?? 0} of ${desired} replicas available`);
    }
  } catch (error) {
    return { error: (error as Error).message };
  }
  return problems.length ? { failure: problems.join('; ') } : { value: deployments.length, passed: true };
}
