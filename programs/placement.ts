// Where the local environments' pods run, and how they get their images. The local cluster has
// two kinds of node (toolchain/cluster.mjs): simulated ones, where kwok marks pods Ready without
// running anything, and one real node, where containerd runs them from images built on this
// machine (`npm run images`). The real node is tainted so that nothing lands there by accident;
// pods that must really run select its label and tolerate its taint. The cloud has no such
// distinction: its pods go wherever the scheduler puts them.
import type * as k8s from '@pulumi/kubernetes';
import type { Settings } from './settings';

/** The real node's label and taint (toolchain/real-node-config.mjs sets both). */
export const REAL_NODE = { key: 'stackpilot.local/node', value: 'real' } as const;

type Placement = Pick<k8s.types.input.core.v1.PodSpec, 'nodeSelector' | 'tolerations'>;

export function placementOf(settings: Settings): Placement {
  if (settings.platform !== 'local' || settings.localNode === 'simulated') return {};
  return {
    nodeSelector: { [REAL_NODE.key]: REAL_NODE.value },
    tolerations: [{ key: REAL_NODE.key, operator: 'Equal', value: REAL_NODE.value, effect: 'NoSchedule' }],
  };
}

/**
 * Local images exist only in the real node's containerd (there is no registry to pull from),
 * so a missing one fails at once (ErrImageNeverPull) instead of retrying a pull forever.
 */
export function imagePullPolicyOf(settings: Settings): string {
  return settings.platform === 'local' ? 'Never' : 'IfNotPresent';
}
