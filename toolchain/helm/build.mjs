// helm, stamped as upstream's Makefile stamps a release: its version, and the Kubernetes
// version its client-go speaks (what `helm lint` and `.Capabilities` assume with no cluster).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { goBuild } from '../go.mjs';
import { readVersions, toolchainDir } from '../versions.mjs';

export function build(out) {
  const src = join(toolchainDir, 'helm');
  const clientGo = execFileSync('go', ['list', '-m', '-f', '{{.Version}}', 'k8s.io/client-go'], { cwd: src, encoding: 'utf8' }).trim();
  const [, minor] = clientGo.match(/^v0\.(\d+)\./) ?? [];
  if (!minor) throw new Error(`unexpected k8s.io/client-go version ${clientGo}`);
  const flags = [
    `-X helm.sh/helm/v3/internal/version.version=v${readVersions().helm}`,
    '-X helm.sh/helm/v3/internal/version.metadata=',
    ...['pkg/lint/rules', 'pkg/chartutil'].flatMap((pkg) => [
      `-X helm.sh/helm/v3/${pkg}.k8sVersionMajor=1`,
      `-X helm.sh/helm/v3/${pkg}.k8sVersionMinor=${minor}`,
    ]),
  ];
  goBuild(src, join(out, 'bin', 'helm'), 'helm.sh/helm/v3/cmd/helm', flags.join(' '));
}
