// The real node's kubelet, from k8s.io/kubernetes at the cluster's version. containerd, runc
// and the CNI plugins it drives come from Debian (toolchain/debian.mjs).
import { join } from 'node:path';
import { goBuild } from '../go.mjs';
import { readVersions, toolchainDir } from '../versions.mjs';

export function build(out) {
  const v = readVersions();
  const [major, minor] = v.kubernetes.split('.');
  // The kubelet reports this version in its Node's status, and the API server's skew checks read it.
  const kubeVersion = ['gitVersion', 'gitMajor', 'gitMinor']
    .map((name, i) => `-X k8s.io/component-base/version.${name}=${[`v${v.kubernetes}`, major, minor][i]}`)
    .join(' ');
  goBuild(join(toolchainDir, 'kubelet'), join(out, 'bin', 'kubelet'), 'k8s.io/kubernetes/cmd/kubelet', kubeVersion);
}
