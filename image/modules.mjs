// The image's node_modules: production dependencies only, installed from package-lock.json by
// `npm ci --omit=dev` on the runtime Node, then stripped of what is never read at run time
// (better-sqlite3 ships an addon per platform: only this one's stays). The result is cached
// outside the work tree, keyed by what decides it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { nodeEnv } from '../toolchain/node.mjs';

const repoDir = join(import.meta.dirname, '..');

/**
 * Never loaded by the service or its programs: type declarations (types are stripped by tsx,
 * never checked at run time), source maps, docs, and better-sqlite3's C sources and its
 * addons for other platforms. Licences stay.
 */
const UNUSED_FILE = /(\.d\.[cm]?ts|\.map|\.md|\.markdown)$/i;
const UNUSED_PATHS = ['better-sqlite3/deps', 'better-sqlite3/src'];

/** better-sqlite3's prebuilt addon for this platform, the one the image loads. */
export const SQLITE_ADDON = join('node_modules', 'better-sqlite3', 'prebuilds', `${process.platform}-${process.arch}.node`);

function pruneAddons(modules) {
  const prebuilds = join(modules, 'better-sqlite3', 'prebuilds');
  for (const name of readdirSync(prebuilds)) if (join('node_modules', 'better-sqlite3', 'prebuilds', name) !== SQLITE_ADDON) rmSync(join(prebuilds, name));
}

function key(runtime) {
  const hash = createHash('sha256');
  for (const file of ['package.json', 'package-lock.json']) hash.update(readFileSync(join(repoDir, file)));
  hash.update(readFileSync(import.meta.filename));
  hash.update(`${runtime.version}-${process.platform}-${process.arch}`);
  return hash.digest('hex').slice(0, 16);
}

function prune(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) prune(path);
    else if (UNUSED_FILE.test(entry.name) && !/^licen[cs]e/i.test(entry.name)) rmSync(path);
  }
}

/** Returns a folder holding node_modules, building it once per key. */
export function productionModules(runtime, cacheDir, log) {
  const dir = join(cacheDir, `modules-${key(runtime)}`);
  if (existsSync(join(dir, 'node_modules'))) return dir;
  log(`installing production npm dependencies for the image on Node ${runtime.version} (cached afterwards in ${dir})`);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    execFileSync('cp', [join(repoDir, 'package.json'), join(repoDir, 'package-lock.json'), tmp]);
    // Without the project's own scripts: `prepare` builds the dashboard from web/, which is not
    // here (the image takes web/dist as built in the checkout).
    const manifest = JSON.parse(readFileSync(join(tmp, 'package.json'), 'utf8'));
    delete manifest.scripts;
    writeFileSync(join(tmp, 'package.json'), JSON.stringify(manifest, null, 2));
    execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: tmp, env: nodeEnv(runtime), stdio: ['ignore', 2, 2] });
    for (const sub of UNUSED_PATHS) rmSync(join(tmp, 'node_modules', sub), { recursive: true, force: true });
    pruneAddons(join(tmp, 'node_modules'));
    prune(join(tmp, 'node_modules'));
    // The addon must load on the image's Node: a failure here names the problem at build time.
    execFileSync(runtime.node, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: tmp });
    mkdirSync(dirname(dir), { recursive: true });
    renameSync(tmp, dir);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  return dir;
}
