// A container runtime for building and running images here, with no registry: Debian's podman
// and buildah on the runc runtime. This machine refuses podman's default ulimits and its cgroup
// layout does not suit crun, so a drop-in config sets runc and ulimits it accepts.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const CONF = '/etc/containers/containers.conf.d/50-stackpilot.conf';
const SETTINGS = `# Written by Stackpilot's setup (toolchain/containers.mjs).
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
`;

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** Installs and configures podman, buildah and runc when missing; returns podman's path or throws why not. */
export function ensurePodman(log = (message) => process.stderr.write(`${message}\n`)) {
  const missing = ['podman', 'buildah', 'runc'].filter((cmd) => !has(cmd));
  if (missing.length) {
    if (process.getuid?.() !== 0) throw new Error(`${missing.join(', ')} missing, and installing them needs root: apt-get install podman buildah runc`);
    log(`installing ${missing.join(', ')} from Debian's packages`);
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('apt-get', ['install', '-y', '-qq', 'podman', 'buildah', 'runc'], {
      stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  if (!existsSync(CONF) || readFileSync(CONF, 'utf8') !== SETTINGS) {
    mkdirSync('/etc/containers/containers.conf.d', { recursive: true });
    writeFileSync(CONF, SETTINGS);
  }
  return 'podman';
}
