// Builds the TORONTO AI TEAM AGENT's images, and the real node's pause image, FROM scratch
// with podman (no registry anywhere), and saves each tag as an archive that the real node's
// containerd imports. Every image is a static Go binary from this folder, except the
// database: PostgreSQL from Debian's binaries with the libraries ldd names for them.
// The archives are cached under one key: a hash of this folder, the Go helpers, the Go
// version and the PostgreSQL package's version, so a warm run only hashes a few files.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePodman } from '../toolchain/containers.mjs';
import { ensureDebianPackages } from '../toolchain/debian.mjs';
import { goBuild } from '../toolchain/go.mjs';
import { cacheRoot, toolchainDir } from '../toolchain/versions.mjs';

const sourceDir = dirname(fileURLToPath(import.meta.url));
const REGISTRY = 'registry.toronto-ai.local';

/** The pause image containerd starts every pod with (its sandbox_image). */
export const PAUSE_IMAGE = 'stackpilot.local/pause:1.0';

/**
 * Every tag: the folder it is built from and its build arguments. The backend's 1.1.0-*
 * tags are the bad releases (see backend/main.go): one fails readiness, one crashes, one
 * fails half of its API requests.
 */
function imageList(postgresMajor) {
  const backend = (tag, args = {}) => ({ name: 'backend', ref: `${REGISTRY}/backend:${tag}`, args: { VERSION: tag, ...args } });
  return [
    { name: 'pause', ref: PAUSE_IMAGE, args: {} },
    backend('1.0.0'),
    backend('1.1.0'),
    backend('1.1.0-broken', { FAILURE_MODE: 'unready' }),
    backend('1.1.0-crashing', { FAILURE_MODE: 'crash' }),
    backend('1.1.0-erroring', { FAILURE_MODE: 'errors' }),
    { name: 'frontend', ref: `${REGISTRY}/frontend:1.0.0`, args: { VERSION: '1.0.0' } },
    { name: 'frontend', ref: `${REGISTRY}/frontend:1.1.0`, args: { VERSION: '1.1.0' } },
    { name: 'database', ref: `${REGISTRY}/database:${postgresMajor}`, args: { PGBIN: postgresDirs(postgresMajor).bin } },
  ];
}

const postgresDirs = (major) => ({ bin: `/usr/lib/postgresql/${major}/bin`, lib: `/usr/lib/postgresql/${major}/lib`, share: `/usr/share/postgresql/${major}` });

/** The newest PostgreSQL server Debian installed here (installed first when there is none). */
function findPostgres(log) {
  const installed = () => (existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql') : [])
    .filter((major) => existsSync(join(postgresDirs(major).bin, 'postgres'))).sort((a, b) => Number(b) - Number(a));
  if (!installed().length) ensureDebianPackages({ postgresql: '/usr/lib/postgresql' }, log);
  const [major] = installed();
  if (!major) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql after installing Debian\'s postgresql');
  const version = spawnSync('dpkg-query', ['-W', '-f', '${Version}', `postgresql-${major}`], { encoding: 'utf8' }).stdout || major;
  return { major, version };
}

function cacheKey(postgres) {
  const hash = createHash('sha256');
  for (const name of readdirSync(sourceDir, { recursive: true }).map(String).sort()) {
    if (statSync(join(sourceDir, name)).isFile()) hash.update(name).update('\0').update(readFileSync(join(sourceDir, name))).update('\0');
  }
  hash.update(readFileSync(join(toolchainDir, 'go.mjs')));
  hash.update(execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }));
  hash.update(`postgresql ${postgres.version}`);
  return hash.digest('hex').slice(0, 16);
}

export function imagesCacheDir(env = process.env) {
  return join(cacheRoot(env), '..', 'images');
}

/**
 * Builds every image unless this content was built before; returns the cache folder and its
 * manifest: [{ ref, archive }].
 */
export function buildImages(log = (message) => process.stderr.write(`images: ${message}\n`)) {
  const postgres = findPostgres(log);
  const dir = join(imagesCacheDir(), cacheKey(postgres));
  const manifest = join(dir, 'images.json');
  if (existsSync(manifest)) return { dir, images: JSON.parse(readFileSync(manifest, 'utf8')) };

  const podman = ensurePodman(log);
  log(`building ${imageList(postgres.major).length} images with podman (cached afterwards in ${dir})`);
  const started = Date.now();
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    const context = join(tmp, 'context');
    for (const name of ['pause', 'backend', 'frontend']) {
      goBuild(sourceDir, join(context, name, name), `./${name}`);
      copyFileSync(join(sourceDir, name, 'Containerfile'), join(context, name, 'Containerfile'));
    }
    databaseRootfs(join(context, 'database', 'rootfs'), postgres.major);
    copyFileSync(join(sourceDir, 'database', 'Containerfile'), join(context, 'database', 'Containerfile'));

    const images = imageList(postgres.major).map(({ name, ref, args }) => {
      const archive = `${ref.split('/').at(-1).replace(':', '-')}.tar`;
      const buildArgs = Object.entries(args).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`]);
      podmanRun(podman, ['build', '--quiet', '--layers=false', '-t', ref, ...buildArgs, join(context, name)]);
      podmanRun(podman, ['save', '--quiet', '--format', 'docker-archive', '-o', join(tmp, archive), ref]);
      podmanRun(podman, ['rmi', ref]); // the archive is the artifact; podman's store stays as it was
      return { ref, archive };
    });
    rmSync(context, { recursive: true, force: true });
    writeFileSync(join(tmp, 'images.json'), `${JSON.stringify(images, null, 2)}\n`);
    mkdirSync(dirname(dir), { recursive: true });
    renameSync(tmp, dir);
    log(`built ${images.length} images in ${Math.round((Date.now() - started) / 1000)} s`);
    return { dir, images };
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(manifest)) return { dir, images: JSON.parse(readFileSync(manifest, 'utf8')) }; // another build finished first
    throw error;
  }
}

function podmanRun(podman, args) {
  const result = spawnSync(podman, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) throw new Error(`podman ${args[0]} failed: ${(result.stderr || result.stdout).trim().split('\n').at(-1)}`);
}

/**
 * PostgreSQL's root filesystem: the server, initdb and pg_isready, their lib and share
 * folders (without the JIT, whose LLVM library alone is bigger than the rest), time zones,
 * Debian's dash as /bin/sh (initdb starts the server through popen, which runs a shell),
 * every library ldd names for them, a passwd naming the postgres user, and the entrypoint.
 */
function databaseRootfs(rootfs, major) {
  const pg = postgresDirs(major);
  const copy = (from) => {
    mkdirSync(dirname(join(rootfs, from)), { recursive: true });
    execFileSync('cp', ['-a', from, join(rootfs, from)]);
  };
  mkdirSync(join(rootfs, pg.bin), { recursive: true });
  for (const tool of ['postgres', 'initdb', 'pg_isready']) copyFileSync(join(pg.bin, tool), join(rootfs, pg.bin, tool));
  copy(pg.lib);
  for (const jit of readdirSync(join(rootfs, pg.lib)).filter((name) => name.startsWith('llvmjit') || name === 'bitcode')) {
    rmSync(join(rootfs, pg.lib, jit), { recursive: true });
  }
  copy(pg.share);
  copy('/usr/share/zoneinfo');
  mkdirSync(join(rootfs, 'bin'));
  copyFileSync('/bin/dash', join(rootfs, 'bin', 'sh'));

  const elves = ['/bin/dash', ...['postgres', 'initdb', 'pg_isready'].map((tool) => join(pg.bin, tool)),
    ...readdirSync(join(rootfs, pg.lib)).filter((name) => name.endsWith('.so')).map((name) => join(pg.lib, name))];
  for (const library of new Set(elves.flatMap(librariesOf))) {
    mkdirSync(dirname(join(rootfs, library)), { recursive: true });
    copyFileSync(library, join(rootfs, library)); // follows the symlink: the image gets the file itself
  }

  mkdirSync(join(rootfs, 'etc'));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/sbin/nologin\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/sbin/nologin\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\npostgres:x:999:\n');
  writeFileSync(join(rootfs, 'etc', 'nsswitch.conf'), 'passwd: files\ngroup: files\n');
  // Written by the postgres user: COPY keeps these modes but makes root the owner.
  for (const dir of ['tmp', 'var/run/postgresql', 'var/lib/postgresql/data']) {
    mkdirSync(join(rootfs, dir), { recursive: true });
    chmodSync(join(rootfs, dir), 0o1777);
  }
  goBuild(sourceDir, join(rootfs, 'usr', 'local', 'bin', 'start-postgres'), './database');
}

/** The shared libraries a binary loads, as ldd resolves them on this machine (the loader included). */
function librariesOf(file) {
  const out = spawnSync('ldd', [file], { encoding: 'utf8' }).stdout ?? '';
  return [...out.matchAll(/(?:=>\s+)?(\/\S+)\s+\(0x/g)].map(([, path]) => path);
}
