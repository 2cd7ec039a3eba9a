// `npm run image`: builds Stackpilot's container image from scratch, with no base image (none
// can be pulled here): setup builds the toolchain, the root filesystem is assembled from the
// pinned Node, the toolchain's binaries and plugins, production npm dependencies and a few
// files from Debian's packages, then packed into one deterministic tarball that
// image/Containerfile adds to an empty image. The same commit gives the same image; an image
// already built from the same root filesystem and commit is kept as it is.
// Prints IMAGE=<name> as its last line.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nodeRuntime } from '../toolchain/node.mjs';
import { cacheRoot, toolchainPaths } from '../toolchain/versions.mjs';
import { buildOptions, containerCli } from './container-cli.mjs';
import { productionModules } from './modules.mjs';
import { assembleRootfs, checkNode, debianSources, packRootfs } from './rootfs.mjs';

const repoDir = join(import.meta.dirname, '..');
const cacheDir = join(cacheRoot(), '..', 'image');
const DEBIAN_PACKAGES = { tini: '/usr/bin/tini-static', 'ca-certificates': '/etc/ssl/certs/ca-certificates.crt', binutils: '/usr/bin/strip' };

class BuildError extends Error {}

function log(message) {
  process.stderr.write(`image: ${message}\n`);
}

function runSetup() {
  const setup = spawnSync(process.execPath, [join(repoDir, 'toolchain', 'setup.mjs')], { cwd: repoDir, stdio: ['ignore', 'ignore', 'inherit'] });
  if (setup.status !== 0) throw new BuildError('setup failed (see above)');
}

function ensureDebianPackages() {
  const missing = Object.entries(DEBIAN_PACKAGES).filter(([, file]) => !existsSync(file)).map(([name]) => name);
  if (!missing.length) return;
  if (process.getuid?.() !== 0) throw new BuildError(`${missing.join(', ')} missing, and installing them needs root: apt-get install ${missing.join(' ')}`);
  log(`installing ${missing.join(', ')} from Debian's packages`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function git(...args) {
  const result = spawnSync('git', args, { cwd: repoDir, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : '';
}

async function sha256(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

function inspect(cli, image, format) {
  const result = spawnSync(cli, ['image', 'inspect', '--format', format, image], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

async function main() {
  const started = Date.now();
  runSetup();
  const cli = (() => {
    try {
      return containerCli(log);
    } catch (error) {
      throw new BuildError(error.message);
    }
  })();
  ensureDebianPackages();
  const runtime = nodeRuntime();
  const version = JSON.parse(readFileSync(join(repoDir, 'package.json'), 'utf8')).version;
  const image = `localhost/stackpilot:${version}`;
  const revision = `${git('rev-parse', 'HEAD') || 'unknown'}${git('status', '--porcelain') ? '-dirty' : ''}`;
  const timestamp = Number(git('log', '-1', '--format=%ct')) || 0;

  mkdirSync(cacheDir, { recursive: true });
  const modulesDir = productionModules(runtime, cacheDir, log);
  const work = mkdtempSync(join(cacheDir, 'build-'));
  try {
    log('assembling the root filesystem');
    const root = join(work, 'rootfs');
    mkdirSync(root);
    let sources;
    try {
      const fromDebian = assembleRootfs(root, { runtime, toolchain: toolchainPaths(), modulesDir });
      checkNode(root);
      sources = [...debianSources(fromDebian), `ca-certificates=${execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'ca-certificates'], { encoding: 'utf8' })}`, `node=${runtime.version}`];
    } catch (error) {
      throw new BuildError(`assembling the root filesystem failed: ${String(error.message).split('\n')[0]}`);
    }
    const tarball = join(work, 'rootfs.tar');
    packRootfs(root, tarball, timestamp);
    rmSync(root, { recursive: true, force: true });
    const digest = await sha256(tarball);

    const previous = inspect(cli, image, '{{.Id}}');
    if (inspect(cli, image, '{{index .Labels "io.stackpilot.rootfs.sha256"}} {{index .Labels "org.opencontainers.image.revision"}}') === `${digest} ${revision}`) {
      log(`${image} is already built from this root filesystem and commit`);
    } else {
      log(`building ${image} with ${cli}`);
      const options = buildOptions(cli, timestamp);
      const labels = {
        'org.opencontainers.image.version': version,
        'org.opencontainers.image.revision': revision,
        'io.stackpilot.rootfs.sha256': digest,
        'io.stackpilot.sources': sources.join(' '),
      };
      execFileSync(cli, ['build', ...options.args, '--file', join(repoDir, 'image', 'Containerfile'), '--tag', image,
        ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), work],
      { env: options.env, stdio: ['ignore', 2, 2] });
      const built = inspect(cli, image, '{{.Id}}');
      // The image this one replaced is ours and now untagged: remove it unless a container uses it.
      if (previous && previous !== built) spawnSync(cli, ['rmi', previous], { stdio: 'ignore' });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const size = Number(inspect(cli, image, '{{.Size}}'));
  log(`${image}: ${(size / 1e6).toFixed(0)} MB uncompressed, id ${inspect(cli, image, '{{.Id}}')?.slice(0, 12)}, built in ${Math.round((Date.now() - started) / 1000)} s`);
  console.log(`IMAGE=${image}`);
}

try {
  await main();
} catch (error) {
  if (!(error instanceof BuildError)) throw error;
  log(`error: ${error.message}`);
  process.exit(1);
}
