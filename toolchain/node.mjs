// The Node.js that the service, its Pulumi programs, its scripts and its tests run on: the
// machine's own when it is at least the pinned LTS line, otherwise the pinned LTS, which setup
// installs from the npm registry's node-<platform>-<arch> package (the official binary with
// its headers, so native modules compile against it offline) into the toolchain cache.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cacheRoot, readVersions } from './versions.mjs';

const major = (version) => Number(String(version).replace(/^v/, '').split('.')[0]);

/**
 * Where the runtime Node is. `root` holds bin/node and include/node when it is the cached
 * one (npm needs it as nodedir to compile native modules); undefined for the machine's own.
 */
export function nodeRuntime(env = process.env) {
  const pinned = readVersions().node;
  if (major(process.versions.node) >= major(pinned)) {
    return { version: process.versions.node, node: process.execPath, root: undefined, pinned };
  }
  const root = join(cacheRoot(env), `node-v${pinned}-${process.platform}-${process.arch}`);
  return { version: pinned, node: join(root, 'bin', 'node'), root, pinned };
}

/** Installs the pinned Node into the cache when the runtime is not the machine's own. */
export function installNode(runtime, log) {
  if (!runtime.root || existsSync(runtime.node)) return;
  const name = `node-${process.platform}-${process.arch}@${runtime.version}`;
  log(`installing Node ${runtime.version} from the npm package ${name} (this machine has ${process.versions.node})`);
  mkdirSync(dirname(runtime.root), { recursive: true });
  const tmp = mkdtempSync(`${runtime.root}.tmp-`);
  try {
    // npm pack checks the tarball against the registry's integrity hash; no install scripts run.
    const tarball = execFileSync('npm', ['pack', name, '--silent', '--pack-destination', tmp], { encoding: 'utf8' }).trim().split('\n').at(-1);
    execFileSync('tar', ['xzf', join(tmp, tarball), '-C', tmp, '--strip-components=1']);
    rmSync(join(tmp, tarball));
    execFileSync(join(tmp, 'bin', 'node'), ['--version']);
    renameSync(tmp, runtime.root);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(runtime.node)) throw error; // another setup finished it first otherwise
  }
}

/** The environment that makes `node`, npm's scripts and shebangs resolve to the runtime Node. */
export function nodeEnv(runtime, env = process.env) {
  return {
    ...env,
    PATH: `${dirname(runtime.node)}:${env.PATH ?? '/usr/bin:/bin'}`,
    ...(runtime.root ? { npm_config_nodedir: runtime.root } : {}),
  };
}
