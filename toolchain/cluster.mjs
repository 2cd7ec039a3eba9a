// `npm run cluster -- up|down|status`: an offline Kubernetes cluster on loopback. kwokctl's
// binary runtime runs etcd, kube-apiserver, kube-controller-manager and kube-scheduler from
// the toolchain, and kwok's controller plays the nodes: it marks scheduled pods Running and
// Ready, so Deployments really roll out without a container runtime.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot, toolchainPaths } from './versions.mjs';

// Another name gives a second, independent cluster (for example one per checkout on a shared machine).
const NAME = process.env.STACKPILOT_CLUSTER_NAME ?? 'stackpilot';
const NODES = 2;
const paths = toolchainPaths();
const workDir = join(cacheRoot(), '..', 'kwok');
export const kubeconfig = join(workDir, 'clusters', NAME, 'kubeconfig.yaml');

const env = {
  ...process.env,
  PATH: `${paths.bin}:${process.env.PATH}`, // kwokctl looks kubectl up on PATH; this one is ours
  KWOK_WORKDIR: workDir, // keeps clusters, logs and pki out of ~/.kwok
};

function run(cmd, args, options = {}) {
  return execFileSync(join(paths.bin, cmd), args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options });
}

function fail(message) {
  process.stderr.write(`cluster: ${message}\n`);
  process.exit(1);
}

function clusterExists() {
  return run('kwokctl', ['get', 'clusters']).split('\n').includes(NAME);
}

function apiReady() {
  return existsSync(kubeconfig)
    && spawnSync(join(paths.bin, 'kubectl'), ['--kubeconfig', kubeconfig, 'get', '--raw', '/readyz'], { env, stdio: 'ignore' }).status === 0;
}

function readyNodes() {
  const out = spawnSync(join(paths.bin, 'kubectl'), ['--kubeconfig', kubeconfig, 'get', 'nodes', '-o',
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
  mkdirSync(workDir, { recursive: true });
  if (!clusterExists()) {
    run('kwokctl', ['create', 'cluster', '--name', NAME, '--runtime', 'binary',
      '--kubeconfig', kubeconfig,
      '--etcd-binary', join(paths.bin, 'etcd'),
      '--kube-apiserver-binary', join(paths.bin, 'kube-apiserver'),
      '--kube-controller-manager-binary', join(paths.bin, 'kube-controller-manager'),
      '--kube-scheduler-binary', join(paths.bin, 'kube-scheduler'),
      '--kwok-controller-binary', join(paths.bin, 'kwok'),
      '--wait', '60s'], { stdio: ['ignore', 2, 2] });
  } else if (!apiReady()) {
    run('kwokctl', ['start', 'cluster', '--name', NAME, '--wait', '60s'], { stdio: ['ignore', 2, 2] });
  }
  await waitFor('the API server', apiReady, 60);
  if (readyNodes() < NODES) {
    run('kwokctl', ['scale', 'node', '--name', NAME, '--replicas', String(NODES)], { stdio: ['ignore', 2, 2] });
    await waitFor(`${NODES} Ready nodes`, () => readyNodes() >= NODES, 60);
  }
  console.log(`KUBECONFIG=${kubeconfig}`);
}

async function down() {
  if (existsSync(join(paths.bin, 'kwokctl')) && clusterExists()) {
    run('kwokctl', ['delete', 'cluster', '--name', NAME], { stdio: ['ignore', 2, 2] });
  }
  // kwokctl stops each component by its pid file; anything it missed is ours to end. It runs
  // them from links in the cluster's own bin folder. A component may take a moment to exit.
  const pattern = `^${join(workDir, 'clusters', NAME, 'bin')}/(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok-controller) `;
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
  const state = !exists ? 'absent' : apiReady() ? `running, ${readyNodes()} Ready nodes` : 'stopped';
  console.log(`cluster ${NAME}: ${state}`);
  if (exists) console.log(`KUBECONFIG=${kubeconfig}`);
  process.exitCode = state.startsWith('running') ? 0 : 3;
}

const command = process.argv[2];
if (command === 'up') await up();
else if (command === 'down') await down();
else if (command === 'status') status();
else fail('usage: npm run cluster -- up|down|status');
