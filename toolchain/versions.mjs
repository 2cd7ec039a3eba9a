// The toolchain's pinned versions (versions.json) and where its binaries are cached.
// Imported by setup and by the service, so both agree on the same directory without a
// hand-kept manifest: the cache key is a hash of the files that decide what gets built.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const toolchainDir = dirname(fileURLToPath(import.meta.url));

/**
 * The wrapper modules, each built on its own by its folder's build.mjs and cached under its
 * own key, with the pins that decide what it builds: a change to one group's pin, module or
 * recipe rebuilds that group alone.
 */
const GROUP_PINS = {
  'pulumi-cli': (v) => ({ pulumi: v.pulumi }),
  'language-host': (v) => ({ pulumi: v.pulumi }),
  'provider-kubernetes': (v) => ({ kubernetes: v.plugins.kubernetes }),
  cluster: (v) => ({ kubernetes: v.kubernetes, etcd: v.etcd, kwok: v.kwok }),
  kubelet: (v) => ({ kubernetes: v.kubernetes }),
  coredns: (v) => ({ coredns: v.coredns }),
  helm: (v) => ({ helm: v.helm }),
};
export const groups = Object.keys(GROUP_PINS);

export function readVersions() {
  return JSON.parse(readFileSync(join(toolchainDir, 'versions.json'), 'utf8'));
}

/** Hash of everything that decides a group's binaries: its sources, go.mod, go.sum, recipe, pins and the shared Go helpers. */
export function groupKey(group) {
  const hash = createHash('sha256');
  const dir = join(toolchainDir, group);
  for (const name of readdirSync(dir, { recursive: true }).map(String).sort()) {
    if (!/\.(go|mod|sum|mjs)$/.test(name)) continue;
    hash.update(name).update('\0').update(readFileSync(join(dir, name))).update('\0');
  }
  hash.update(readFileSync(join(toolchainDir, 'go.mjs')));
  hash.update(JSON.stringify(GROUP_PINS[group](readVersions())));
  hash.update(`${process.platform}-${process.arch}`);
  return hash.digest('hex').slice(0, 16);
}

export function cacheRoot(env = process.env) {
  if (env.STACKPILOT_CACHE_DIR) return join(env.STACKPILOT_CACHE_DIR, 'toolchain');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'stackpilot', 'toolchain');
}

/**
 * The assembled toolchain: bin/ (CLI, language host, cluster binaries: first on PATH),
 * plugins/ (provider binaries, kept off PATH so none is picked up as an ambient plugin) and
 * pulumi-home/ (the PULUMI_HOME with those plugins installed).
 */
export function toolchainPaths(env = process.env) {
  // A toolchain assembled elsewhere (the container image's) is named, not found by key: the
  // group sources that make the key are not there.
  if (env.STACKPILOT_TOOLCHAIN_DIR) return pathsUnder(env.STACKPILOT_TOOLCHAIN_DIR);
  const v = readVersions();
  // A CLI named by STACKPILOT_PULUMI_CLI replaces the built one, so it is part of the key.
  const parts = [...groups.map(groupKey), env.STACKPILOT_PULUMI_CLI ?? ''];
  const key = createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 12);
  return pathsUnder(join(cacheRoot(env), `pulumi-${v.pulumi}-k8s-${v.kubernetes}-${key}`));
}

function pathsUnder(root) {
  return { root, bin: join(root, 'bin'), plugins: join(root, 'plugins'), pulumiHome: join(root, 'pulumi-home') };
}
