// The image's root filesystem, assembled in a folder and packed into one deterministic tarball
// (sorted names, one mtime, numeric owners), since no base image can be pulled here:
//   /usr/local/bin/node           the pinned Node LTS (the toolchain's), with the shared
//                                 libraries ldd lists for it and for better-sqlite3's addon
//   /usr/bin/tini                 Debian's static tini: PID 1, reaps the engine's orphans
//   /etc/ssl/certs                Debian's CA bundle, for the Go CLI and providers
//   /etc/passwd, /etc/group       root, and the non-root user the service runs as (10001)
//   /app                          the service: src/, production node_modules, the launcher
//   /app/project                  the TORONTO AI TEAM AGENT project (Pulumi.yaml, programs, stacks)
//   /opt/stackpilot/toolchain     pulumi and pulumi-language-nodejs side by side, and a
//                                 PULUMI_HOME with the provider plugins installed
//   /data (owned by 10001), /tmp  the only writable places
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SQLITE_ADDON } from './modules.mjs';

export const USER_ID = 10001;
const repoDir = join(import.meta.dirname, '..');
const SERVICE_FILES = ['package.json', 'src', 'web/dist', 'image/start.mjs', 'toolchain/versions.mjs', 'toolchain/versions.json'];
const PROJECT_FILES = ['Pulumi.yaml', 'programs', 'stacks'];
const TINI = '/usr/bin/tini-static';
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** Shared libraries a dynamically linked ELF file needs, as ldd resolves them here. */
function librariesOf(file) {
  return execFileSync('ldd', [file], { encoding: 'utf8' }).split('\n')
    .map((line) => line.match(/(?:=>\s*)?(\/\S+)\s+\(0x/)?.[1])
    .filter(Boolean);
}

/** The Debian package and version each copied host file comes from, for the image's labels. */
export function debianSources(files) {
  const packages = new Set();
  for (const file of files) {
    // dpkg knows a file by the path its package ships, which merged /usr may have moved.
    const real = realpathSync(file);
    const candidates = [...new Set([file, real, real.replace(/^\/usr\/lib\//, '/lib/'), file.replace(/^\/lib\//, '/usr/lib/')])];
    const owner = candidates.map((path) => spawnSync('dpkg', ['-S', path], { encoding: 'utf8' }))
      .find((result) => result.status === 0)?.stdout.split(':')[0];
    if (!owner) throw new Error(`no Debian package owns ${file}`);
    const version = execFileSync('dpkg-query', ['-W', '-f', '${Version}', owner], { encoding: 'utf8' });
    packages.add(`${owner}=${version}`);
  }
  return [...packages].sort();
}

function copyInto(root, file, target = file) {
  mkdirSync(dirname(join(root, target)), { recursive: true });
  copyFileSync(realpathSync(file), join(root, target));
}

/** Hard links (the sources are in the same cache filesystem), so assembling costs no copy. */
function linkTree(source, target) {
  mkdirSync(dirname(target), { recursive: true });
  execFileSync('cp', ['-al', source, target]);
}

/**
 * Fills `root` (empty) and returns the host files copied from Debian's packages.
 * toolchain: { bin, pulumiHome } from toolchainPaths(); modulesDir holds node_modules.
 */
export function assembleRootfs(root, { runtime, toolchain, modulesDir }) {
  copyInto(root, runtime.node, '/usr/local/bin/node');
  // Its symbol table and debug sections (15 MB) are never used at run time; the dynamic
  // symbols native addons link against stay, and checkNode() proves it.
  execFileSync('strip', [join(root, 'usr/local/bin/node')]);
  const addon = join(modulesDir, SQLITE_ADDON);
  const libraries = [...new Set([...librariesOf(runtime.node), ...librariesOf(addon)])];
  for (const library of libraries) copyInto(root, library);
  copyInto(root, TINI, '/usr/bin/tini');
  copyInto(root, CA_BUNDLE);

  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), `root:x:0:0:root:/root:/sbin/nologin\nstackpilot:x:${USER_ID}:${USER_ID}:Stackpilot:/tmp:/sbin/nologin\n`);
  writeFileSync(join(root, 'etc/group'), `root:x:0:\nstackpilot:x:${USER_ID}:\n`);
  // Name lookups from files first, then DNS, as glibc does with no nsswitch.conf but stated.
  writeFileSync(join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');

  for (const part of SERVICE_FILES) cpSync(join(repoDir, part), join(root, 'app', part), { recursive: true });
  for (const part of PROJECT_FILES) cpSync(join(repoDir, part), join(root, 'app', 'project', part), { recursive: true });
  linkTree(join(modulesDir, 'node_modules'), join(root, 'app', 'node_modules'));

  const tools = join(root, 'opt', 'stackpilot', 'toolchain');
  mkdirSync(join(tools, 'bin'), { recursive: true });
  for (const name of ['pulumi', 'pulumi-language-nodejs']) copyInto(root, join(toolchain.bin, name), join('/opt/stackpilot/toolchain/bin', name));
  // Installed plugins only: not the lock or last-used files the CLI keeps beside them.
  const plugins = join(toolchain.pulumiHome, 'plugins');
  for (const entry of readdirSync(plugins, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.endsWith('.partial'))) {
    linkTree(join(plugins, entry.name), join(tools, 'pulumi-home', 'plugins', entry.name));
  }
  return [...libraries, TINI];
}

/** The image's node loads the image's better-sqlite3 addon: run on this host, whose libc the image copies. */
export function checkNode(root) {
  const script = `const D = require(${JSON.stringify(join(root, 'app/node_modules/better-sqlite3'))}); new D(':memory:').close()`;
  execFileSync(join(root, 'usr/local/bin/node'), ['-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * Packs `root` into `tarball`, reproducibly: sorted, one mtime, root-owned, readable (and
 * where executable, executable) by everyone and writable by no one else: the CLI installs
 * plugins owner-only, and the service is not their owner. Then appends the two writable folders: /data owned by the service's user, and /tmp
 * for everyone (sticky), for runs without a tmpfs there.
 */
export function packRootfs(root, tarball, mtime) {
  const extra = mkdtempSync(join(dirname(tarball), 'extra-'));
  const common = ['--sort=name', `--mtime=@${mtime}`, '--numeric-owner', '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime'];
  try {
    chmodSync(root, 0o755);
    execFileSync('tar', ['--create', '--file', tarball, ...common, '--owner=0', '--group=0', '--mode=go-w,a+rX', '-C', root, '.']);
    for (const name of ['data', 'tmp']) mkdirSync(join(extra, name));
    execFileSync('tar', ['--append', '--file', tarball, ...common, `--owner=${USER_ID}`, `--group=${USER_ID}`, '--mode=0700', '-C', extra, 'data']);
    execFileSync('tar', ['--append', '--file', tarball, ...common, '--owner=0', '--group=0', '--mode=1777', '-C', extra, 'tmp']);
  } finally {
    rmSync(extra, { recursive: true, force: true });
  }
}
