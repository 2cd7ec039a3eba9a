// `npm run cluster -- up|down|status`: an offline Kubernetes cluster on loopback. kwokctl's
// binary runtime runs etcd, kube-apiserver, kube-controller-manager and kube-scheduler from
// the toolchain; kwok's controller plays two simulated nodes (it marks pods scheduled there
// Running and Ready, with no container runtime); and this machine joins as one real node
// (real-node.mjs: containerd, the kubelet, CoreDNS), where pods really run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRealNodeFree, realNodeDown, realNodePaths, realNodeStatus, realNodeUp } from './real-node.mjs';
import { cacheRoot, toolchainPaths } from './versions.mjs';

// Another name gives a second, independent cluster (for example one per checkout on a shared
// machine); only one of them can have the real node at a time.
const NAME = process.env.STACKPILOT_CLUSTER_NAME ?? 'stackpilot';
// STACKPILOT_CLUSTER_REAL_NODE=false: simulated nodes only (a test's cluster beside the one that has the real node).
const REAL_NODE = process.env.STACKPILOT_CLUSTER_REAL_NODE !== 'false';
const NODES = 2;
const paths = toolchainPaths();
const workDir = join(cacheRoot(), '..', 'kwok');
const clusterDir = join(workDir, 'clusters', NAME);
const pkiDir = join(clusterDir, 'pki');
const nodePaths = realNodePaths();
export const kubeconfig = join(clusterDir, 'kubeconfig.yaml');

const env = {
  ...process.env,
  PATH: `${paths.bin}:${process.env.PATH}`, // kwokctl looks kubectl up on PATH; this one is ours
  KWOK_WORKDIR: workDir, // keeps clusters, logs and pki out of ~/.kwok
};

// kwok's controller manages only the simulated nodes (kwokctl's own default is every node,
// which would overwrite the real node's status), and the API server presents a client
// certificate to kubelets (the real one refuses anonymous requests for logs, exec and
// port-forward). A configuration file, because kwokctl 0.8.0's --extra-args misindexes the
// arguments of a second component.
const CREATE_CONFIG = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
componentsPatches:
- name: kwok-controller
  extraArgs:
  - { key: manage-all-nodes, value: "false" }
  - { key: manage-nodes-with-annotation-selector, value: kwok.x-k8s.io/node=fake }
- name: kube-apiserver
  extraArgs:
  - { key: kubelet-client-certificate, value: ${join(pkiDir, 'admin.crt')} }
  - { key: kubelet-client-key, value: ${join(pkiDir, 'admin.key')} }
`;

function run(cmd, args, options = {}) {
  return execFileSync(join(paths.bin, cmd), args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options });
}

function fail(message) {
  process.stderr.write(`cluster: ${message}\n`);
  process.exit(1);
}

const log = (message) => process.stderr.write(`cluster: ${message}\n`);

function clusterExists() {
  return run('kwokctl', ['get', 'clusters']).split('\n').includes(NAME);
}

/** A cluster created before the real node existed lacks the settings above. */
function createdWithRealNodeSettings() {
  const config = join(clusterDir, 'kwok.yaml');
  return existsSync(config) && readFileSync(config, 'utf8').includes('manage-nodes-with-annotation-selector');
}

function apiReady() {
  return existsSync(kubeconfig)
    && spawnSync(join(paths.bin, 'kubectl'), ['--kubeconfig', kubeconfig, 'get', '--raw', '/readyz'], { env, stdio: 'ignore' }).status === 0;
}

/** Ready simulated nodes (kwokctl labels them type=kwok). */
function readyNodes() {
  const out = spawnSync(join(paths.bin, 'kubectl'), ['--kubeconfig', kubeconfig, 'get', 'nodes', '-l', 'type=kwok', '-o',
    'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'], { env, encoding: 'utf8' });
  return out.status === 0 ? out.stdout.split('\n').filter((s) => s === 'True').length : 0;
}

async function waitFor(what, check, seconds) {
  const deadline = Date.now() + seconds * 1000;
  while (!check()) {
    if (Date.now() > deadline) fail(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function up() {
  if (!existsSync(join(paths.bin, 'kwokctl'))) fail('the toolchain is not built: run `npm run setup` first');
  if (REAL_NODE) checkRealNodeFree({ cluster: NAME, bin: paths.bin, paths: nodePaths });
  mkdirSync(workDir, { recursive: true });
  if (clusterExists() && !createdWithRealNodeSettings()) {
    log(`${NAME} was created before the local cluster had a real node: recreating it`);
    run('kwokctl', ['delete', 'cluster', '--name', NAME], { stdio: ['ignore', 2, 2] });
  }
  if (!clusterExists()) {
    // A real node left from an earlier cluster of this name holds that cluster's certificates.
    if (REAL_NODE) await realNodeDown({ cluster: NAME, bin: paths.bin, paths: nodePaths, log });
    const config = join(workDir, `${NAME}.create.yaml`);
    writeFileSync(config, CREATE_CONFIG);
    try {
      run('kwokctl', ['--config', config, 'create', 'cluster', '--name', NAME, '--runtime', 'binary',
        '--kubeconfig', kubeconfig,
        '--etcd-binary', join(paths.bin, 'etcd'),
        '--kube-apiserver-binary', join(paths.bin, 'kube-apiserver'),
        '--kube-controller-manager-binary', join(paths.bin, 'kube-controller-manager'),
        '--kube-scheduler-binary', join(paths.bin, 'kube-scheduler'),
        '--kwok-controller-binary', join(paths.bin, 'kwok'),
        '--wait', '60s'], { stdio: ['ignore', 2, 2] });
    } finally {
      rmSync(config, { force: true });
    }
  } else if (!apiReady()) {
    run('kwokctl', ['start', 'cluster', '--name', NAME, '--wait', '60s'], { stdio: ['ignore', 2, 2] });
  }
  await waitFor('the API server', apiReady, 60);
  if (readyNodes() < NODES) {
    run('kwokctl', ['scale', 'node', '--name', NAME, '--replicas', String(NODES)], { stdio: ['ignore', 2, 2] });
    await waitFor(`${NODES} Ready simulated nodes`, () => readyNodes() >= NODES, 60);
  }
  if (REAL_NODE) await realNodeUp({ cluster: NAME, kubeconfig, pkiDir, bin: paths.bin, paths: nodePaths, log });
  console.log(`KUBECONFIG=${kubeconfig}`);
}

async function down() {
  const exists = existsSync(join(paths.bin, 'kwokctl')) && clusterExists();
  // The real node first, while the API server can still tell its kubelet to stop the pods.
  if (REAL_NODE) await realNodeDown({ cluster: NAME, kubeconfig: exists && apiReady() ? kubeconfig : undefined, bin: paths.bin, paths: nodePaths, log });
  if (exists) run('kwokctl', ['delete', 'cluster', '--name', NAME], { stdio: ['ignore', 2, 2] });
  // kwokctl stops each component by its pid file; anything it missed is ours to end. It runs
  // them from links in the cluster's own bin folder. A component may take a moment to exit.
  const pattern = `^${join(clusterDir, 'bin')}/(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok-controller) `;
  const left = () => spawnSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).stdout.trim();
  const deadline = Date.now() + 10_000;
  while (left() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  const remaining = left();
  if (remaining) {
    spawnSync('pkill', ['-KILL', '-f', pattern]);
    fail(`processes were still running 10 s after the cluster was deleted and have been killed: ${remaining.split('\n').join(', ')}`);
  }
  console.log('cluster removed');
}

function status() {
  const exists = existsSync(join(paths.bin, 'kwokctl')) && clusterExists();
  const running = exists && apiReady();
  const state = !exists ? 'absent' : running ? `running, ${readyNodes()} Ready simulated nodes` : 'stopped';
  console.log(`cluster ${NAME}: ${state}`);
  if (running && REAL_NODE) console.log(realNodeStatus({ cluster: NAME, kubeconfig, bin: paths.bin, paths: nodePaths }));
  if (exists) console.log(`KUBECONFIG=${kubeconfig}`);
  process.exitCode = running ? 0 : 3;
}

const command = process.argv[2];
try {
  if (command === 'up') await up();
  else if (command === 'down') await down();
  else if (command === 'status') status();
  else fail('usage: npm run cluster -- up|down|status');
} catch (error) {
  fail(String(error?.message ?? error).split('\n')[0]);
}
