// `npm start`: the service on its embedded defaults (SQLite and a file:// state backend in
// ./data, a generated secrets passphrase), with the local cluster as the target of the
// development and testing environments. Runs setup and `cluster up` first (seconds when
// cached), then the server on the runtime Node, and stays its parent only to pass stop
// requests on: every SIGTERM or SIGINT it gets, and its own parent's disappearance (npm exits
// on SIGTERM without passing it on), become a SIGTERM to the server, which drains and exits;
// then this exits as the server did. Secrets given to it as variables reach the server as
// files (NAME_FILE, removed once read), never in the server's environment; give them as files
// to `npm start` too, or npm and this launcher keep them in theirs (README, Access control).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

const SECRET_VARIABLES = ['DATABASE_URL', 'STACKPILOT_SECRETS_PASSPHRASE', 'STACKPILOT_STATE_BACKEND', 'STACKPILOT_BOOTSTRAP_ADMIN_KEY'];
const given = SECRET_VARIABLES.filter((name) => env[name] !== undefined);
if (given.length) {
  const handoff = mkdtempSync(join(tmpdir(), 'stackpilot-handoff-'));
  env.STACKPILOT_SECRET_HANDOFF = handoff;
  for (const name of given) {
    writeFileSync(join(handoff, name), env[name], { mode: 0o600 });
    env[`${name}_FILE`] = join(handoff, name);
    delete env[name];
  }
}

const server = spawn(runtime.node, ['--import', 'tsx', join(repoDir, 'src', 'server.ts')], { cwd: repoDir, env, stdio: 'inherit' });
const stop = () => {
  if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
};
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, stop);
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop();
}, 500).unref();
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
