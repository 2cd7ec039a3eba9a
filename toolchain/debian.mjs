// Debian packages the local cluster's real node and the image builds run on, installed with
// apt when a file they provide is missing. Nothing here is built: these are the machine's
// container runtime (containerd, runc, the CNI plugins) and PostgreSQL's server binaries.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** What the real node needs, by a file each package installs. */
export const REAL_NODE_PACKAGES = {
  containerd: '/usr/bin/containerd',
  runc: '/usr/sbin/runc',
  'containernetworking-plugins': '/usr/lib/cni/bridge',
  openssl: '/usr/bin/openssl',
};

/** What `npm run backup` and `npm run restore` need for a PostgreSQL database: pg_dump and pg_restore. */
export const DATABASE_BACKUP_PACKAGES = {
  'postgresql-client': '/usr/bin/pg_dump',
};

/**
 * Installs the packages whose marker file is missing; throws, with the command to run, when
 * that needs root. `packages` maps a package name to a file it installs.
 */
export function ensureDebianPackages(packages, log = (message) => process.stderr.write(`${message}\n`)) {
  const missing = Object.entries(packages).filter(([, file]) => !existsSync(file)).map(([name]) => name);
  if (!missing.length) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`${missing.join(', ')} missing, and installing them needs root: apt-get install ${missing.join(' ')}`);
  }
  log(`installing ${missing.join(', ')} from Debian's packages`);
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
      stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch {
    throw new Error(`apt-get could not install ${missing.join(' ')} (see its output above)`);
  }
}
