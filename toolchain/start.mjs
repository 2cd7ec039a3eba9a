// `npm start`: the service on its embedded defaults (SQLite and a file:// state backend in
// ./data, a generated secrets passphrase), with the local cluster as the target of the
// development and testing environments. Runs setup and `cluster up` first (seconds when
// cached), then the server on the runtime Node.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { nodeEnv, nodeRuntime } from './node.mjs';
import { toolchainDir } from './versions.mjs';

const repoDir = dirname(toolchainDir);

function lastLine(script, args = []) {
  const result = spawnSync(process.execPath, [join(toolchainDir, script), ...args], { cwd: repoDir, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  return result.stdout.trim().split('\n').at(-1) ?? '';
}

lastLine('setup.mjs');
const runtime = nodeRuntime();
const env = nodeEnv(runtime);
if (!env.STACKPILOT_KUBECONFIG) env.STACKPILOT_KUBECONFIG = lastLine('cluster.mjs', ['up']).replace(/^KUBECONFIG=/, '');

const server = spawn(runtime.node, ['--import', 'tsx', join(repoDir, 'src', 'server.ts')], { cwd: repoDir, env, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
