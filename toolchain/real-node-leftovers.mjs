// Everything the real node can leave on this machine, found and removed: its processes (and
// any process still in a pod's cgroup), mounts, the kubepods cgroups, the pod bridge, the
// kubelet's iptables chains, the node's folder, and the few system paths the kubelet and
// containerd write to whatever they are told. `cluster down` removes them after stopping the
// node in order; a test asserts that `leftovers()` is empty afterwards.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { commandLine } from './daemons.mjs';
import { POD_NETWORK } from './real-node-config.mjs';

const CGROUP_ROOT = '/sys/fs/cgroup';
// Fixed in the kubelet (device plugins, the container log links), in libcni (its result
// cache, which other CNI users share: only our network's entries are ours) and in containerd
// 1.6 (shim sockets): no setting moves them into the node's folder.
const SYSTEM_PATHS = ['/var/lib/kubelet', '/var/log/containers', '/var/log/pods'];
const CNI_CACHE = '/var/lib/cni';
const CONTAINERD_RUN = '/run/containerd';
const NETNS_DIR = '/run/netns';

/** Processes of the node: its daemons, containerd's shims, and anything left in a pod's cgroup. */
function nodeProcesses(dir) {
  const pids = new Set(cgroupDirs().flatMap((cgroup) => readLines(join(cgroup, 'cgroup.procs'))).map(Number));
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    const args = commandLine(entry)?.join(' ') ?? '';
    if (args.includes(dir) && /(^|\/)(kubelet|containerd|containerd-shim-runc-v2|coredns) /.test(args)) pids.add(Number(entry));
  }
  pids.delete(process.pid);
  return [...pids].map((pid) => ({ pid, args: (commandLine(pid) ?? ['?']).join(' ').slice(0, 120) })).filter((p) => p.args !== '?');
}

/** Every kubepods cgroup folder in every v1 hierarchy (or the v2 tree), deepest first. */
function cgroupDirs() {
  if (!existsSync(CGROUP_ROOT)) return [];
  const roots = existsSync(join(CGROUP_ROOT, 'cgroup.controllers'))
    ? [join(CGROUP_ROOT, 'kubepods')]
    : readdirSync(CGROUP_ROOT).map((hierarchy) => join(CGROUP_ROOT, hierarchy, 'kubepods'));
  const found = [];
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) if (entry.isDirectory()) walk(join(dir, entry.name));
    found.push(dir);
  };
  for (const root of roots) if (existsSync(root)) walk(root);
  return found;
}

function nodeMounts(dir) {
  return readLines('/proc/self/mountinfo').map((line) => line.split(' ')[4].replace(/\\040/g, ' '))
    .filter((point) => [dir, CONTAINERD_RUN, ...SYSTEM_PATHS].some((path) => point.startsWith(`${path}/`)) || point.startsWith(`${NETNS_DIR}/cni-`))
    .sort((a, b) => b.length - a.length);
}

// The kubelet's chains. Its configuration turns them off (makeIPTablesUtilChains: false),
// and the pod network masquerades nothing, so no chain is expected: this checks that it stays so.
const KUBELET_CHAINS = ['KUBE-FIREWALL', 'KUBE-KUBELET-CANARY', 'KUBE-IPTABLES-HINT'];

/** [table, chain] pairs of the kubelet's chains present in this iptables. */
function nodeChains(command) {
  const chains = [];
  for (const table of ['filter', 'nat', 'mangle']) {
    const out = spawnSync(command, ['-t', table, '-S'], { encoding: 'utf8' });
    if (out.status !== 0) continue;
    for (const [, chain] of out.stdout.matchAll(/^-N (\S+)$/gm)) if (KUBELET_CHAINS.includes(chain)) chains.push([table, chain]);
  }
  return chains;
}

const iptablesCommands = () => ['iptables', 'ip6tables'].filter((cmd) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0);

const ourContainerdRun = () => existsSync(CONTAINERD_RUN) && !existsSync(join(CONTAINERD_RUN, 'containerd.sock'));

/** Our network's entries in libcni's cache, and the cache itself once nothing else is in it. */
function cniCacheEntries() {
  if (!existsSync(CNI_CACHE)) return [];
  const files = readdirSync(CNI_CACHE, { recursive: true, withFileTypes: true }).filter((entry) => !entry.isDirectory());
  const ours = files.filter((entry) => entry.name.startsWith(`${POD_NETWORK.name}-`)).map((entry) => join(entry.parentPath, entry.name));
  return ours.length === files.length ? [CNI_CACHE] : ours;
}

function leftoverPaths(dir) {
  const paths = [dir, ...SYSTEM_PATHS].filter(existsSync);
  paths.push(...cniCacheEntries());
  // Another containerd on this machine would own /run/containerd; ours never creates its socket there.
  if (ourContainerdRun()) paths.push(CONTAINERD_RUN);
  if (existsSync(NETNS_DIR)) paths.push(...readdirSync(NETNS_DIR).filter((name) => name.startsWith('cni-')).map((name) => join(NETNS_DIR, name)));
  return paths;
}

/** Everything of the real node still on this machine, one line each; empty when it is all gone. */
export function leftovers(dir) {
  return [
    ...nodeProcesses(dir).map(({ pid, args }) => `process ${pid}: ${args}`),
    ...nodeMounts(dir).map((point) => `mount ${point}`),
    ...cgroupDirs().map((cgroup) => `cgroup ${cgroup}`),
    ...(existsSync(`/sys/class/net/${POD_NETWORK.bridge}`) ? [`network interface ${POD_NETWORK.bridge}`] : []),
    ...iptablesCommands().flatMap((cmd) => nodeChains(cmd).map(([table, chain]) => `${cmd} chain ${chain} (table ${table})`)),
    ...leftoverPaths(dir).map((path) => `path ${path}`),
  ];
}

/**
 * Removes whatever leftovers() finds, in the order that lets each step succeed: processes
 * first (a mount or cgroup in use cannot go), then mounts, cgroups, the bridge, the chains,
 * and last the folders.
 */
export async function removeLeftovers(dir) {
  for (let round = 0; round < 3; round++) {
    const processes = nodeProcesses(dir);
    if (!processes.length) break;
    for (const { pid } of processes) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch { /* already gone */ }
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  for (const point of nodeMounts(dir)) spawnSync('umount', ['-l', point], { stdio: 'ignore' });
  for (const cgroup of cgroupDirs()) {
    try {
      rmdirSync(cgroup);
    } catch { /* reported by leftovers() */ }
  }
  if (existsSync(`/sys/class/net/${POD_NETWORK.bridge}`)) spawnSync('ip', ['link', 'delete', POD_NETWORK.bridge], { stdio: 'ignore' });
  for (const cmd of iptablesCommands()) removeChains(cmd);
  for (const path of leftoverPaths(dir)) rmSync(path, { recursive: true, force: true });
}

/** Unhooks each chain from the built-in chains that jump to it, then flushes and deletes it. */
function removeChains(cmd) {
  const chains = nodeChains(cmd);
  for (const [table, chain] of chains) {
    const rules = spawnSync(cmd, ['-t', table, '-S'], { encoding: 'utf8' }).stdout ?? '';
    for (const [rule] of rules.matchAll(new RegExp(`^-A \\S+ .*-j ${chain}( .*)?$`, 'gm'))) {
      spawnSync(cmd, ['-t', table, ...rule.replace(/^-A /, '-D ').split(' ')], { stdio: 'ignore' });
    }
    spawnSync(cmd, ['-t', table, '-F', chain], { stdio: 'ignore' });
  }
  for (const [table, chain] of chains) spawnSync(cmd, ['-t', table, '-X', chain], { stdio: 'ignore' });
}

function readLines(file) {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
