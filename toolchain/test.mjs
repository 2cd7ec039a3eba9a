// `npm test`: everything the tests need, from a fresh clone, then every test.
//   1. setup (npm dependencies, the Pulumi toolchain and cluster binaries, plugins);
//   2. the type check (programs run without one at deploy time, so CI does it);
//   3. PostgreSQL (started if this machine has it installed but stopped);
//   4. the local cluster (left as it was found: stopped again if this run started it);
//   5. vitest, then one plain summary line "N passed, N failed".
// Arguments are passed to vitest, for example `npm test -- test/unit`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { nodeEnv, nodeRuntime } from './node.mjs';
import { toolchainDir } from './versions.mjs';

const repoDir = dirname(toolchainDir);

function step(title, cmd, args, options = {}) {
  process.stderr.write(`\n== ${title}\n`);
  const result = spawnSync(cmd, args, { cwd: repoDir, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', ...options });
  if (result.stdout) process.stderr.write(result.stdout);
  if (result.status !== 0) {
    process.stderr.write(`test: ${title} failed\n`);
    process.exit(result.status ?? 1);
  }
  return result.stdout.trim().split('\n').at(-1) ?? '';
}

step('setup', process.execPath, [join(toolchainDir, 'setup.mjs')]);
// Everything from here runs on the runtime Node (the pinned LTS when the machine's is older).
const runtime = nodeRuntime();
step('type check', runtime.node, [join(repoDir, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', 'tsconfig.json']);

ensurePostgres();

const clusterWasUp = spawnSync(process.execPath, [join(toolchainDir, 'cluster.mjs'), 'status'], { stdio: 'ignore' }).status === 0;
const kubeconfigLine = step('cluster up', process.execPath, [join(toolchainDir, 'cluster.mjs'), 'up']);
const kubeconfig = kubeconfigLine.replace(/^KUBECONFIG=/, '');

process.stderr.write('\n== tests\n');
const reportDir = mkdtempSync(join(tmpdir(), 'stackpilot-report-'));
const report = join(reportDir, 'vitest.json');
const tests = spawnSync(runtime.node, [join(repoDir, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { cwd: repoDir, stdio: 'inherit', env: { ...nodeEnv(runtime), KUBECONFIG: kubeconfig } });

if (!clusterWasUp) step('cluster down', process.execPath, [join(toolchainDir, 'cluster.mjs'), 'down']);

if (existsSync(report)) {
  const { numPassedTests, numFailedTests, numPendingTests } = JSON.parse(readFileSync(report, 'utf8'));
  console.log(`tests: ${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests} skipped`);
}
rmSync(reportDir, { recursive: true, force: true });
process.exit(tests.status ?? 1);

function ensurePostgres() {
  const ready = () => spawnSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', '5432']).status === 0;
  if (ready()) return;
  process.stderr.write('\n== starting PostgreSQL\n');
  for (const version of spawnSync('ls', ['/etc/postgresql'], { encoding: 'utf8' }).stdout?.split('\n').filter(Boolean) ?? []) {
    spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
  }
  if (!ready()) {
    process.stderr.write('test: PostgreSQL is not reachable on 127.0.0.1:5432 (set STACKPILOT_TEST_DATABASES=sqlite to run without it)\n');
    if ((process.env.STACKPILOT_TEST_DATABASES ?? 'sqlite,postgres').includes('postgres')) process.exit(1);
  }
}
