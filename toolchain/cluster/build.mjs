// The local cluster's binaries: kube-apiserver, kube-controller-manager, kube-scheduler and
// kubectl from k8s.io/kubernetes, etcd's server, and kwok/kwokctl.
import { join } from 'node:path';
import { goBuild } from '../go.mjs';
import { readVersions, toolchainDir } from '../versions.mjs';

export function build(out) {
  const v = readVersions();
  const src = join(toolchainDir, 'cluster');
  const [major, minor] = v.kubernetes.split('.');
  // kwokctl reads each binary's --version, so the Kubernetes ones carry their real version.
  const kubeVersion = ['gitVersion', 'gitMajor', 'gitMinor']
    .map((name, i) => `-X k8s.io/component-base/version.${name}=${[`v${v.kubernetes}`, major, minor][i]}`)
    .join(' ');
  for (const cmd of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl']) {
    goBuild(src, join(out, 'bin', cmd), `k8s.io/kubernetes/cmd/${cmd}`, kubeVersion);
  }
  for (const cmd of ['kwok', 'kwokctl']) {
    goBuild(src, join(out, 'bin', cmd), `sigs.k8s.io/kwok/cmd/${cmd}`, `-X sigs.k8s.io/kwok/pkg/consts.Version=${v.kwok}`);
  }
  goBuild(src, join(out, 'bin', 'etcd'), './etcd');
}
