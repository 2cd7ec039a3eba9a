// `node toolchain/run.mjs <script.ts> [args...]`: runs one of the project's TypeScript scripts
// (the benchmark, the spec writer, create-admin-key...) on the runtime Node, after setup (a
// fraction of a second when everything is cached), passing signals on and exiting as it does.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { nodeEnv, nodeRuntime } from './node.mjs';
import { toolchainDir } from './versions.mjs';

const repoDir = dirname(toolchainDir);
const setup = spawnSync(process.execPath, [join(toolchainDir, 'setup.mjs')], { cwd: repoDir, stdio: ['ignore', 'ignore', 'inherit'] });
if (setup.status !== 0) process.exit(setup.status ?? 1);

const runtime = nodeRuntime();
const [script, ...args] = process.argv.slice(2);
const child = spawn(runtime.node, ['--import', 'tsx', join(repoDir, script), ...args], { cwd: repoDir, env: nodeEnv(runtime), stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
