// How each wrapper module turns into binaries. Every build writes into a fresh temporary
// folder that setup renames into the cache only once it is complete.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readVersions, toolchainDir } from './versions.mjs';

const v = readVersions();

function go(args, cwd, env = {}) {
  execFileSync('go', args, {
    cwd,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly', ...env },
  });
}

function goBuild(cwd, out, pkg, ldflags = '', tags = '') {
  const args = ['build', '-trimpath', '-o', out];
  if (tags) args.push('-tags', tags);
  args.push('-ldflags', `-s -w ${ldflags}`.trim(), pkg);
  go(args, cwd);
}

/** Fetches a group's modules first, so an unreachable proxy fails before any compiling. */
export function download(group) {
  go(['mod', 'download'], join(toolchainDir, group));
}

export const builders = {
  'pulumi-cli'(out) {
    // Stamped so `pulumi version` prints it: the Automation API parses that output.
    goBuild(join(toolchainDir, 'pulumi-cli'), join(out, 'bin', 'pulumi'), 'github.com/pulumi/pulumi/pkg/v3/cmd/pulumi',
      `-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${v.pulumi}`, 'osusergo,grpcnotrace');
  },

  'language-host'(out) {
    goBuild(join(toolchainDir, 'language-host'), join(out, 'bin', 'pulumi-language-nodejs'), '.',
      `-X main.version=v${v.pulumi}`);
  },

  'provider-kubernetes'(out) {
    const { version, module } = v.plugins.kubernetes;
    const src = join(toolchainDir, 'provider-kubernetes');
    const moduleDir = execFileSync('go', ['list', '-m', '-f', '{{.Dir}}', module], { cwd: src, encoding: 'utf8' }).trim();
    const upstreamCmd = join(moduleDir, 'cmd', 'pulumi-resource-kubernetes');
    // Upstream generates these two files before building (its `go generate` step): the schema
    // stamped with the plugin version, and the Terraform mapping, both compacted.
    const work = mkdtempSync(join(tmpdir(), 'stackpilot-provider-'));
    try {
      cpSync(src, work, { recursive: true });
      const schema = JSON.parse(readFileSync(join(upstreamCmd, 'schema.json'), 'utf8'));
      schema.version = version;
      writeFileSync(join(work, 'schema-embed.json'), JSON.stringify(schema));
      const mapping = JSON.parse(readFileSync(join(upstreamCmd, 'terraform-mapping.json'), 'utf8'));
      writeFileSync(join(work, 'terraform-mapping-embed.json'), JSON.stringify(mapping));
      goBuild(work, join(out, 'plugins', 'pulumi-resource-kubernetes'), '.',
        `-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${version}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },

  cluster(out) {
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
      goBuild(src, join(out, 'bin', cmd), `sigs.k8s.io/kwok/cmd/${cmd}`,
        `-X sigs.k8s.io/kwok/pkg/consts.Version=${v.kwok}`);
    }
    goBuild(src, join(out, 'bin', 'etcd'), './etcd');
  },
};
