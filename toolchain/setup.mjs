// `npm run setup`: installs the pinned Node LTS when the machine's is older, installs npm
// dependencies with it, installs Debian's containerd, runc and CNI plugins for the local
// cluster's real node when missing, builds the pinned Pulumi toolchain and the local cluster's
// binaries (the kubelet and CoreDNS among them) from Go modules (cached outside the work
// tree), installs the provider plugins into the toolchain's PULUMI_HOME, and prints
// TOOLCHAIN_BIN=<dir> as its last line.
// Idempotent; with everything cached it only hashes a few files and checks a few paths.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DATABASE_BACKUP_PACKAGES, ensureDebianPackages, REAL_NODE_PACKAGES } from './debian.mjs';
import { download } from './go.mjs';
import { installNode, nodeEnv, nodeRuntime } from './node.mjs';
import { cacheRoot, groupKey, groups, readVersions, toolchainDir, toolchainPaths } from './versions.mjs';

const repoDir = dirname(toolchainDir);
const versions = readVersions();
const MIN_GO = [1, 26];

class SetupError extends Error {}

function log(message) {
  process.stderr.write(`setup: ${message}\n`);
}

let goChecked = false;

/** Go is needed only when something must be built: a warm cache works without it. */
function checkGo() {
  if (goChecked) return;
  goChecked = true;
  const result = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new SetupError(`Go ${MIN_GO.join('.')} or newer is needed to build the Pulumi toolchain, and \`go\` is not on PATH`);
  }
  const found = result.stdout.trim();
  const [major, minor] = (found.match(/^go(\d+)\.(\d+)/) ?? []).slice(1).map(Number);
  if (!(major > MIN_GO[0] || (major === MIN_GO[0] && minor >= MIN_GO[1]))) {
    throw new SetupError(`Go ${MIN_GO.join('.')} or newer is needed to build the Pulumi toolchain; found ${found}`);
  }
}

/**
 * npm ci with the runtime Node first on PATH, so native modules (better-sqlite3) are compiled
 * for the Node that will load them; a change of runtime Node rebuilds them.
 */
function installNpmDependencies(runtime) {
  const marker = join(repoDir, 'node_modules', '.package-lock.json');
  const builtFor = join(repoDir, 'node_modules', '.stackpilot-node');
  const lock = join(repoDir, 'package-lock.json');
  const env = nodeEnv(runtime);
  const npm = (args) => execFileSync('npm', args, { cwd: repoDir, env, stdio: ['ignore', 2, 2] });
  if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
    log(`installing npm dependencies (npm ci, on Node ${runtime.version})`);
    npm(['ci', '--no-audit', '--no-fund']);
  } else if (!existsSync(builtFor) || readFileSync(builtFor, 'utf8') !== runtime.version) {
    log(`rebuilding native npm modules for Node ${runtime.version}`);
    npm(['rebuild']);
  } else {
    return;
  }
  writeFileSync(builtFor, runtime.version);
}

/** `npm ci` builds the dashboard (package.json `prepare`); a checkout installed before it had one gets it here. */
async function buildDashboardIfMissing() {
  if (existsSync(join(repoDir, 'web', 'dist', 'index.html'))) return;
  log('building the dashboard (web/dist)');
  const { buildDashboard } = await import(join(repoDir, 'web', 'build.mjs'));
  await buildDashboard({ log });
}

/** A user who already has a Pulumi CLI names it; its language host must sit next to it. */
function externalCli() {
  const cli = process.env.STACKPILOT_PULUMI_CLI;
  if (!cli) return undefined;
  const host = join(dirname(cli), 'pulumi-language-nodejs');
  if (!existsSync(cli) || !existsSync(host)) {
    throw new SetupError(`STACKPILOT_PULUMI_CLI=${cli}: expected the pulumi binary with pulumi-language-nodejs beside it`);
  }
  return { 'pulumi-cli': { bin: { pulumi: cli } }, 'language-host': { bin: { 'pulumi-language-nodejs': host } } };
}

/** Builds one group into a temporary folder and renames it into place, so a cache entry is always whole. */
async function ensureGroup(group) {
  const dir = join(cacheRoot(), 'groups', `${group}-${groupKey(group)}`);
  if (existsSync(dir)) return dir;
  checkGo();
  log(`building ${group} (cached afterwards in ${dir})`);
  try {
    download(group);
  } catch {
    throw new SetupError(`cannot download the Go modules for ${group}: is the Go module proxy (${goProxy()}) reachable?`);
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'bin'), { recursive: true });
  mkdirSync(join(tmp, 'plugins'), { recursive: true });
  const started = Date.now();
  try {
    const { build } = await import(join(toolchainDir, group, 'build.mjs'));
    build(tmp);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw new SetupError(`building ${group} failed (see the Go output above): ${error.message.split('\n')[0]}`);
  }
  log(`built ${group} in ${Math.round((Date.now() - started) / 1000)} s`);
  renameOrDiscard(tmp, dir);
  return dir;
}

function goProxy() {
  return spawnSync('go', ['env', 'GOPROXY'], { encoding: 'utf8' }).stdout?.trim() || 'GOPROXY';
}

/** Another setup may have finished the same folder first; then ours is redundant. */
function renameOrDiscard(tmp, dir) {
  mkdirSync(dirname(dir), { recursive: true });
  try {
    renameSync(tmp, dir);
  } catch (error) {
    if (!existsSync(dir)) throw error;
    rmSync(tmp, { recursive: true, force: true });
  }
}

function filesOf(dir) {
  return existsSync(dir) ? Object.fromEntries(readdirSync(dir).map((name) => [name, join(dir, name)])) : {};
}

/**
 * Links every group's binaries into one bin/ and one plugins/ folder (rebuilt if any is
 * missing). Hard links, not symlinks: the CLI finds its language host next to its own
 * resolved path, so both must really sit in the same folder.
 */
function assemble(paths, built) {
  const complete = ['bin', 'plugins'].every((kind) => built.every((files) =>
    Object.entries(files[kind] ?? {}).every(([name, target]) => sameFile(join(paths[kind], name), target))));
  if (complete) return;
  const tmp = `${paths.root}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  for (const kind of ['bin', 'plugins']) {
    mkdirSync(join(tmp, kind), { recursive: true });
    for (const files of built) {
      for (const [name, target] of Object.entries(files[kind] ?? {})) linkOrCopy(target, join(tmp, kind, name));
    }
  }
  // The PULUMI_HOME beside them survives a re-link: its plugins are keyed by version.
  if (existsSync(paths.pulumiHome)) renameSync(paths.pulumiHome, join(tmp, 'pulumi-home'));
  rmSync(paths.root, { recursive: true, force: true });
  renameOrDiscard(tmp, paths.root);
}

function sameFile(a, b) {
  if (!existsSync(a)) return false;
  const [x, y] = [statSync(a), statSync(b)];
  return x.ino === y.ino || (x.size === y.size && x.mtimeMs >= y.mtimeMs);
}

function linkOrCopy(target, path) {
  try {
    linkSync(target, path);
  } catch {
    copyFileSync(target, path); // another filesystem (an external CLI): a copy keeps its mode
  }
}

function installPlugins(paths) {
  const env = { ...process.env, PULUMI_HOME: paths.pulumiHome, PULUMI_SKIP_UPDATE_CHECK: 'true' };
  for (const [name, { version }] of Object.entries(versions.plugins)) {
    checkNpmVersion(name, version);
    if (existsSync(join(paths.pulumiHome, 'plugins', `resource-${name}-v${version}`, `pulumi-resource-${name}`))) continue;
    log(`installing plugin ${name} ${version} into ${paths.pulumiHome}`);
    execFileSync(join(paths.bin, 'pulumi'),
      ['plugin', 'install', 'resource', name, version, '--file', join(paths.plugins, `pulumi-resource-${name}`)],
      { env, stdio: ['ignore', 2, 2] });
  }
}

/** The plugin cache matches versions exactly: the npm package must ask for the version we built. */
function checkNpmVersion(name, version) {
  const manifest = join(repoDir, 'node_modules', '@pulumi', name, 'package.json');
  const installed = existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf8')).version : 'none';
  if (installed !== version) {
    throw new SetupError(`toolchain/versions.json pins the ${name} plugin at ${version}, but npm installed @pulumi/${name} ${installed}`);
  }
}

async function main() {
  const runtime = nodeRuntime();
  try {
    installNode(runtime, log);
  } catch (error) {
    throw new SetupError(`cannot install Node ${runtime.version} from the npm registry (node-${process.platform}-${process.arch}): ${String(error.message).split('\n')[0]}`);
  }
  installNpmDependencies(runtime);
  await buildDashboardIfMissing();
  try {
    ensureDebianPackages(REAL_NODE_PACKAGES, log);
  } catch (error) {
    throw new SetupError(`the local cluster's real node needs Debian's container runtime: ${error.message}`);
  }
  try {
    ensureDebianPackages(DATABASE_BACKUP_PACKAGES, log);
  } catch (error) {
    throw new SetupError(`backups of a PostgreSQL database need Debian's postgresql-client: ${error.message}`);
  }
  const external = externalCli();
  const built = [];
  for (const group of groups) {
    if (external?.[group]) {
      built.push(external[group]);
      continue;
    }
    const dir = await ensureGroup(group);
    built.push({ bin: filesOf(join(dir, 'bin')), plugins: filesOf(join(dir, 'plugins')) });
  }
  const paths = toolchainPaths();
  assemble(paths, built);
  installPlugins(paths);
  console.log(`TOOLCHAIN_BIN=${paths.bin}`);
}

try {
  await main();
} catch (error) {
  if (!(error instanceof SetupError)) throw error;
  log(`error: ${error.message}`);
  process.exit(1);
}
