// The local cluster's real node: this machine joins the kwok cluster as one real Kubernetes
// node. Debian's containerd runs the pods' containers with runc, the kubelet (built by setup)
// registers the node and runs what is scheduled there, and CoreDNS answers cluster.local names
// for its pods. The node is tainted, so only pods that tolerate it (programs/placement.ts)
// land there. There can be one per machine (one kubelet, one containerd): it belongs to one
// cluster at a time, named in its folder's `cluster` file.
import { execFileSync, spawnSync } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { buildImages, PAUSE_IMAGE } from '../images/build.mjs';
import { daemonPid, logFile, startDaemon, stopDaemon } from './daemons.mjs';
import { ensureDebianPackages, REAL_NODE_PACKAGES } from './debian.mjs';
import { nodePaths, POD_NETWORK, REAL_NODE_LABEL, writeNodeConfig } from './real-node-config.mjs';
import { leftovers, removeLeftovers } from './real-node-leftovers.mjs';
import { cacheRoot } from './versions.mjs';

const CONTAINERD = '/usr/bin/containerd';
const CTR = '/usr/bin/ctr';

export class NodeError extends Error {}

/** The node's folder (real-node/ beside kwok's clusters) and the paths inside it. */
export const realNodePaths = (env = process.env) => nodePaths(join(cacheRoot(env), '..', 'kwok', 'real-node'));

/**
 * The machine's first non-loopback IPv4 address: the node's name and address, because the
 * API server dials the kubelet by that name for logs, exec and port-forward.
 */
export function realNodeName() {
  const skip = /^(lo|stackpilot|podman|cni|veth|docker|br-)/;
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    if (skip.test(name)) continue;
    const found = (addresses ?? []).find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  throw new NodeError('this machine has no non-loopback IPv4 address, which the real node needs as its name and address');
}

const ownerOf = (paths) => (existsSync(paths.owner) ? readFileSync(paths.owner, 'utf8').trim() : undefined);
const kubeletRunning = (paths, bin) => daemonPid(paths.logs, 'kubelet', join(bin, 'kubelet')) !== undefined;

function ctr(paths, args, options = {}) {
  return execFileSync(CTR, ['--address', paths.socket, '--namespace', 'k8s.io', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

function kubectl(bin, kubeconfig, args) {
  return spawnSync(join(bin, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' });
}

async function waitFor(what, check, seconds, log) {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new NodeError(`timed out after ${seconds} s waiting for ${what}${log ? ` (see ${log})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Starts what is not running yet: the pod bridge, containerd (then loads the images), CoreDNS
 * and the kubelet; resolves once the node is Ready. `cluster` is the kwok cluster it joins.
 */
export async function realNodeUp({ cluster, kubeconfig, pkiDir, bin, paths, log }) {
  checkRealNodeFree({ cluster, bin, paths });
  const owner = ownerOf(paths);
  if (owner && owner !== cluster) await realNodeDown({ cluster: owner, bin, paths, log }); // its cluster's node died with it
  ensureDebianPackages(REAL_NODE_PACKAGES, log);
  const { dir: imagesDir, images } = buildImages(log);
  const nodeName = realNodeName();
  const apiServer = /server:\s*(\S+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1];
  if (!apiServer) throw new NodeError(`no server address in ${kubeconfig}`);

  writeNodeConfig(paths, { nodeName, apiServer, pkiDir, adminKubeconfig: kubeconfig, pauseImage: PAUSE_IMAGE });
  writeFileSync(paths.owner, `${cluster}\n`);
  ensureBridge();

  if (!daemonPid(paths.logs, 'containerd', CONTAINERD)) {
    startDaemon(paths.logs, 'containerd', CONTAINERD, ['--config', paths.containerdConfig]);
  }
  await waitFor('containerd', () => spawnSync(CTR, ['--address', paths.socket, 'version'], { stdio: 'ignore' }).status === 0, 30, logFile(paths.logs, 'containerd'));
  importImages(paths, imagesDir, images, log);

  const coredns = join(bin, 'coredns');
  if (!daemonPid(paths.logs, 'coredns', coredns)) startDaemon(paths.logs, 'coredns', coredns, ['-conf', paths.corefile]);
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([POD_NETWORK.gateway]);
  await waitFor('CoreDNS to answer for cluster.local', () => resolver.resolve4('kubernetes.default.svc.cluster.local').then(() => true, () => false),
    30, logFile(paths.logs, 'coredns'));

  const kubelet = join(bin, 'kubelet');
  if (!daemonPid(paths.logs, 'kubelet', kubelet)) {
    startDaemon(paths.logs, 'kubelet', kubelet, ['--config', paths.kubeletConfig, '--kubeconfig', paths.kubeletKubeconfig,
      '--root-dir', paths.kubeletRoot, '--hostname-override', nodeName, '--node-ip', nodeName,
      '--node-labels', `${REAL_NODE_LABEL.key}=${REAL_NODE_LABEL.value}`, '--v=1']);
  }
  await waitFor(`the real node ${nodeName} to be Ready`, () => nodeReady(bin, kubeconfig, nodeName), 90, logFile(paths.logs, 'kubelet'));
  return nodeName;
}

/** Throws unless the real node is free for `cluster`: not running for another cluster. */
export function checkRealNodeFree({ cluster, bin, paths }) {
  const owner = ownerOf(paths);
  if (owner && owner !== cluster && kubeletRunning(paths, bin)) {
    throw new NodeError(`the real node belongs to cluster ${owner} (one per machine): bring that one down first with STACKPILOT_CLUSTER_NAME=${owner} npm run cluster -- down`);
  }
}

function nodeReady(bin, kubeconfig, nodeName) {
  const out = kubectl(bin, kubeconfig, ['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
  return out.status === 0 && out.stdout.trim() === 'True';
}

/** The pods' bridge, made before CoreDNS starts so that it can listen on the gateway address. */
function ensureBridge() {
  const { bridge, gateway, prefix } = POD_NETWORK;
  const ip = (args) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (!existsSync(`/sys/class/net/${bridge}`)) ip(['link', 'add', bridge, 'type', 'bridge']);
  const addresses = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', bridge], { encoding: 'utf8' });
  if (!addresses.includes(` ${gateway}/`)) ip(['addr', 'add', `${gateway}/${prefix}`, 'dev', bridge]);
  ip(['link', 'set', bridge, 'up']);
}

/** Imports every image archive containerd does not have yet (CRI's namespace, unpacked for overlayfs). */
function importImages(paths, imagesDir, images, log) {
  const present = new Set(ctr(paths, ['images', 'list', '--quiet']).split('\n'));
  const missing = images.filter(({ ref }) => !present.has(ref));
  if (!missing.length) return;
  log(`loading ${missing.length} images into the real node's containerd`);
  for (const { ref, archive } of missing) {
    try {
      ctr(paths, ['images', 'import', join(imagesDir, archive)]);
    } catch (error) {
      throw new NodeError(`containerd could not import ${ref} from ${join(imagesDir, archive)}: ${String(error.stderr ?? error.message).trim().split('\n').at(-1)}`);
    }
  }
}

/** Loads the images into the real node if its containerd is running (after `npm run images`). */
export function loadImagesIfRunning(paths, imagesDir, images, log) {
  if (!daemonPid(paths.logs, 'containerd', CONTAINERD)) return false;
  importImages(paths, imagesDir, images, log);
  return true;
}

/**
 * Stops the node and removes everything it made. With the API server still up, its pods are
 * deleted through Kubernetes first (the node cordoned, so nothing new lands there), which lets
 * the kubelet stop them in order: containers, then their sandboxes and network. Whatever is
 * left after that (or when the API server is gone) is removed by force. Throws, naming each,
 * if anything is still there at the end.
 */
export async function realNodeDown({ cluster, kubeconfig, bin, paths, log }) {
  const owner = ownerOf(paths);
  if (owner && owner !== cluster) {
    if (kubeconfig) log(`the real node belongs to cluster ${owner}: left running`);
    return;
  }
  if (kubeconfig && kubeletRunning(paths, bin)) await drain(paths, bin, kubeconfig, log);
  await stopDaemon(paths.logs, 'kubelet', join(bin, 'kubelet'));
  await stopDaemon(paths.logs, 'coredns', join(bin, 'coredns'));
  if (daemonPid(paths.logs, 'containerd', CONTAINERD)) killTasks(paths);
  await stopDaemon(paths.logs, 'containerd', CONTAINERD);
  await removeLeftovers(paths.dir);
  const left = leftovers(paths.dir);
  if (left.length) throw new NodeError(`the real node left these behind and they could not be removed: ${left.join('; ')}`);
}

async function drain(paths, bin, kubeconfig, log) {
  const nodeName = realNodeName();
  if (kubectl(bin, kubeconfig, ['cordon', nodeName]).status !== 0) return;
  const selector = `spec.nodeName=${nodeName}`;
  kubectl(bin, kubeconfig, ['delete', 'pods', '--all-namespaces', '--field-selector', selector, '--grace-period=5', '--wait=false']);
  const podsGone = () => kubectl(bin, kubeconfig, ['get', 'pods', '--all-namespaces', '--field-selector', selector, '-o', 'name']).stdout?.trim() === '';
  const tasksGone = () => ctr(paths, ['tasks', 'list', '--quiet']).trim() === '';
  try {
    await waitFor('the real node\'s pods to stop', () => podsGone() && tasksGone(), 60);
  } catch (error) {
    log(`${error.message}: stopping what is left by force`);
  }
}

/** Kills every container still running (their sandboxes' network namespaces go with leftovers). */
function killTasks(paths) {
  for (const id of ctr(paths, ['tasks', 'list', '--quiet']).split('\n').filter(Boolean)) {
    spawnSync(CTR, ['--address', paths.socket, '--namespace', 'k8s.io', 'tasks', 'kill', '--signal', 'SIGKILL', id], { stdio: 'ignore' });
    spawnSync(CTR, ['--address', paths.socket, '--namespace', 'k8s.io', 'tasks', 'delete', '--force', id], { stdio: 'ignore' });
  }
}

/** One line about the real node, for `cluster status`. */
export function realNodeStatus({ cluster, kubeconfig, bin, paths }) {
  const owner = ownerOf(paths);
  if (owner && owner !== cluster) return `real node: belongs to cluster ${owner}`;
  if (!kubeletRunning(paths, bin)) return 'real node: not running';
  const nodeName = realNodeName();
  const ready = nodeReady(bin, kubeconfig, nodeName);
  const version = kubectl(bin, kubeconfig, ['get', 'node', nodeName, '-o', 'jsonpath={.status.nodeInfo.kubeletVersion} {.status.nodeInfo.containerRuntimeVersion}']).stdout?.trim();
  return `real node ${nodeName}: ${ready ? 'Ready' : 'not Ready'} (kubelet and runtime: ${version || 'unknown'})`;
}
