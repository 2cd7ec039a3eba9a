// `npm test`: everything the tests need, from a fresh clone, then every test.
//   1. setup (npm dependencies, the Pulumi toolchain and cluster binaries, plugins);
//   2. the type check (programs run without one at deploy time, so CI does it);
//   3. PostgreSQL (started if this machine has it installed but stopped);
//   4. the local cluster, with its real node (left as it was found: when this run started it,
//      the last test brings it down and checks that nothing of it is left on the machine);
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

const reportDir = mkdtempSync(join(tmpdir(), 'stackpilot-report-'));
function vitest(title, report, args) {
  process.stderr.write(`\n== ${title}\n`);
  return spawnSync(runtime.node, [join(repoDir, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args],
    { cwd: repoDir, stdio: 'inherit', env: { ...nodeEnv(runtime), KUBECONFIG: kubeconfig } }).status ?? 1;
}
const reports = [join(reportDir, 'tests.json')];
let status = vitest('tests', reports[0], process.argv.slice(2));
if (!clusterWasUp) {
  // The cluster goes down as a test, which fails if anything of it is left on the machine.
  reports.push(join(reportDir, 'teardown.json'));
  status = vitest('cluster down', reports[1], ['--config', 'vitest.teardown.config.ts']) || status;
}

const counts = reports.filter(existsSync).map((file) => JSON.parse(readFileSync(file, 'utf8')));
if (counts.length) {
  const sum = (key) => counts.reduce((total, report) => total + report[key], 0);
  console.log(`tests: ${sum('numPassedTests')} passed, ${sum('numFailedTests')} failed, ${sum('numPendingTests')} skipped`);
}
rmSync(reportDir, { recursive: true, force: true });
process.exit(status);

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
