// Rewrites the wrapper modules' go.mod files from versions.json and tidies them, so a version
// bump is one edit plus `node toolchain/pin.mjs`. Run it by hand; setup never does (builds must
// use the committed, checksummed go.sum).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toolchainDir, readVersions } from './versions.mjs';

const v = readVersions();

function goModOf(module, version) {
  const out = execFileSync('go', ['mod', 'download', '-json', `${module}@${version}`], { encoding: 'utf8' });
  return readFileSync(JSON.parse(out).GoMod, 'utf8');
}

// Kubernetes requires its staging modules at v0.0.0 through local replaces; re-point each one
// at its published version (k8s.io/api v0.36.1 for Kubernetes v1.36.1).
function stagingReplaces(kubeVersion) {
  const mod = goModOf('k8s.io/kubernetes', `v${kubeVersion}`);
  const [, minorPatch] = kubeVersion.match(/^1\.(\d+\.\d+)$/) ?? [];
  if (!minorPatch) throw new Error(`unexpected Kubernetes version ${kubeVersion}`);
  return [...mod.matchAll(/^\s*(k8s\.io\/[\w.-]+) => \.\/staging\/src\/\S+$/gm)]
    .map(([, path]) => `\t${path} => ${path} v0.${minorPatch}`);
}

function writeModule(dir, header, requires, replaces = []) {
  const lines = [header.trim(), '', `module stackpilot.local/toolchain/${dir}`, '', 'go 1.26', '',
    'require (', ...requires.map((r) => `\t${r}`), ')', ''];
  if (replaces.length) lines.push('replace (', ...replaces, ')', '');
  writeFileSync(join(toolchainDir, dir, 'go.mod'), lines.join('\n'));
  execFileSync('go', ['mod', 'tidy'], { cwd: join(toolchainDir, dir), stdio: 'inherit' });
}

writeModule('pulumi-cli', `
// Wrapper module that builds the Pulumi CLI. pkg/v3's own go.mod replaces sdk/v3 with ../sdk,
// so \`go install pkg@version\` refuses to build it; requiring pkg and sdk at one version here
// works, because replaces in dependencies are ignored. pkg's one non-local replace (a
// clipboard fork) is repeated so the result matches upstream's release build.`,
[`github.com/pulumi/pulumi/pkg/v3 v${v.pulumi}`, `github.com/pulumi/pulumi/sdk/v3 v${v.pulumi}`],
['\tgithub.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e']);

writeModule('language-host', `
// Stackpilot's Node.js language host for the Pulumi engine (see main.go for why it is ours).`,
[`github.com/pulumi/pulumi/sdk/v3 v${v.pulumi}`]);

const k8s = v.plugins.kubernetes;
writeModule('provider-kubernetes', `
// Wrapper module for the Pulumi kubernetes provider plugin. The provider's own main embeds
// schema files that upstream generates at build time (gitignored, so the module zip lacks
// them); toolchain/build.mjs stamps them from the module's schema.json before building.`,
[`${k8s.module} ${k8s.moduleVersion}`, `github.com/pulumi/pulumi-kubernetes/sdk/v4 v${k8s.version}`]);

writeModule('cluster', `
// Wrapper module for the local cluster: kube-apiserver, kube-controller-manager,
// kube-scheduler and kubectl from k8s.io/kubernetes, etcd's server, and kwok/kwokctl.`,
[`k8s.io/kubernetes v${v.kubernetes}`, `go.etcd.io/etcd/server/v3 v${v.etcd}`, `sigs.k8s.io/kwok v${v.kwok}`],
stagingReplaces(v.kubernetes));

writeModule('kubelet', `
// Wrapper module for the real node's kubelet: k8s.io/kubernetes with the same staging replaces
// as the cluster's binaries, so it builds with exactly the dependencies Kubernetes tested.`,
[`k8s.io/kubernetes v${v.kubernetes}`],
stagingReplaces(v.kubernetes));

writeModule('coredns', `
// Wrapper module for the real node's DNS: CoreDNS with its own dependency versions (its
// kubernetes plugin's client-go among them), kept apart from the kubelet's.`,
[`github.com/coredns/coredns v${v.coredns}`]);

writeModule('helm', `
// Wrapper module for helm, which installs the Stackpilot chart in tests. Upstream has no
// replaces; the wrapper keeps it pinned, checksummed and cached like every other tool.`,
[`helm.sh/helm/v3 v${v.helm}`]);
