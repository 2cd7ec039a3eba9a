// Program snapshots, their digests and their bundles, on small projects in a temporary folder:
// the digest cache sees edits and skips reads when nothing changed; a snapshot is compiled once
// into a bundle that runs without tsx and maps its errors to the .ts lines; a bundle leaves the
// digest alone, and an altered bundle or a program that does not compile is refused.
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Workspaces, programFiles } from '../../src/engine/workspace.js';
import { BUNDLE_DIR, withoutTsx } from '../../src/releases/program-bundles.js';
import { ProgramSnapshots, RunRefusal } from '../../src/releases/program-snapshots.js';
import { TreeDigests } from '../../src/releases/tree-digests.js';

let root: string;
let project: string;

function writeProject(files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(project, path, '..'), { recursive: true });
    writeFileSync(join(project, path), content);
  }
}

const PROGRAM = {
  'Pulumi.yaml': 'name: demo\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n    nodeargs: --import tsx --max-old-space-size=512\nmain: programs/\nstackConfigDir: stacks\n',
  'package-lock.json': '{"lockfileVersion": 3}\n',
  'programs/package.json': '{"type": "commonjs", "main": "index.ts"}\n',
  'programs/index.ts': "import * as pulumi from '@pulumi/pulumi';\nimport { fail } from './other';\n\nexport const name: string = pulumi.getStack?.name ?? 'x';\nfail(process.env.FAIL === '1');\n",
  'programs/other.ts': "export function fail(now: boolean): void {\n  const why: string = 'asked to';\n  if (now) throw new Error(`failing as ${why}`);\n}\n",
};

/** The digest formula snapshots were named with before the cache: kept, so old digests still match. */
function uncachedDigest(dir: string): string {
  const hash = createHash('sha256');
  const add = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) if (name !== 'node_modules') add(join(path, name));
      return;
    }
    hash.update(relative(dir, path)).update('\0').update(readFileSync(path)).update('\0');
  };
  for (const file of programFiles(dir).sort()) add(join(dir, file));
  return hash.digest('hex');
}

function refusal(run: () => unknown): RunRefusal {
  try {
    run();
  } catch (error) {
    if (error instanceof RunRefusal) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'stackpilot-snapshots-'));
  project = join(root, 'project');
  writeProject(PROGRAM);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('tree digests', () => {
  it('computes the digest snapshots always had, and reads nothing again while no file changed', () => {
    const digests = new TreeDigests();
    const files = programFiles(project);
    const first = digests.digest(project, files);
    expect(first).toBe(uncachedDigest(project));
    const reads = digests.hashed;
    for (let i = 0; i < 5; i++) expect(digests.digest(project, files)).toBe(first);
    expect(digests.hashed).toBe(reads);
  });

  it('sees an edit that changes a file\'s size or mtime, and a file added', () => {
    const digests = new TreeDigests();
    const files = programFiles(project);
    const before = digests.digest(project, files);
    const file = join(project, 'programs', 'other.ts');
    const { atime, mtime } = statSync(file);
    // Same size, content changed, mtime moved on (what an editor or git checkout does).
    writeFileSync(file, readFileSync(file, 'utf8').replace('asked to', 'asked so'));
    utimesSync(file, atime, new Date(mtime.getTime() + 2000));
    const edited = digests.digest(project, files);
    expect(edited).not.toBe(before);
    expect(edited).toBe(uncachedDigest(project));
    writeProject({ 'programs/extra.ts': 'export const x = 1;\n' });
    expect(digests.digest(project, files)).toBe(uncachedDigest(project));
  });

  it('misses an edit that keeps the size, inode and mtime (a forgery that sets the mtime back): the stat key\'s known limit', () => {
    const digests = new TreeDigests();
    const files = programFiles(project);
    const before = digests.digest(project, files);
    const file = join(project, 'programs', 'other.ts');
    const reference = join(root, 'reference');
    execFileSync('cp', ['-p', file, reference]); // keeps the nanosecond timestamps
    writeFileSync(file, readFileSync(file, 'utf8').replace('asked to', 'asked so')); // in place: same inode and size
    execFileSync('touch', ['-r', reference, file]);
    // This process keeps the digest it had; a fresh one (a restart) hashes the files again.
    expect(digests.digest(project, files)).toBe(before);
    expect(new TreeDigests().digest(project, files)).not.toBe(before);
  });
});

describe('program snapshots with bundles', () => {
  it('compiles a new snapshot once into a bundle that runs without tsx, outside what the digest covers', () => {
    const snapshots = new ProgramSnapshots(project, join(root, 'programs'));
    const digest = snapshots.current();
    expect(digest).toBe(uncachedDigest(project));
    expect(new ProgramSnapshots(project, join(root, 'plain'), { bundles: false }).current()).toBe(digest);
    const { programDir } = snapshots.runnable(digest);
    expect(programDir).toBe(join(root, 'programs', digest, BUNDLE_DIR));
    expect(uncachedDigest(join(root, 'programs', digest))).toBe(digest);

    const project_ = readFileSync(join(programDir, 'Pulumi.yaml'), 'utf8');
    expect(project_).toMatch(/main: bundle\//);
    expect(project_).toMatch(/nodeargs: --max-old-space-size=512\n/);
    expect(project_).not.toMatch(/tsx/);
    expect(project_).toMatch(/stackConfigDir: stacks/);
    const bundle = readFileSync(join(programDir, 'bundle', 'index.js'), 'utf8');
    expect(bundle).toContain('require("@pulumi/pulumi")'); // the SDK stays the installed singleton
    expect(bundle).toContain('failing as'); // ./other is inside
    expect(bundle).toMatch(/\/\/# sourceMappingURL=index\.js\.map\s*$/);
    const map = JSON.parse(readFileSync(join(programDir, 'bundle', 'index.js.map'), 'utf8')) as { sources: string[] };
    expect(map.sources.sort()).toEqual(['../programs/index.ts', '../programs/other.ts']);
    expect(readdirSync(join(root, 'programs'))).toEqual([digest]); // no temporary folder left
  });

  it('runs the bundle from an operation\'s workspace with plain node, its errors naming the .ts file and line', () => {
    // No @pulumi here: a stand-in module, installed beside the project as the real one is, and
    // found from the snapshot's real path through the link runnable() puts beside it.
    const modules = join(project, 'node_modules');
    mkdirSync(join(modules, '@pulumi', 'pulumi'), { recursive: true });
    writeFileSync(join(modules, '@pulumi', 'pulumi', 'index.js'), 'exports.getStack = undefined;\n');
    const snapshots = new ProgramSnapshots(project, join(root, 'programs'));
    const { programDir, modulesDir } = snapshots.runnable(snapshots.current());
    expect(modulesDir).toBe(realpathSync(modules));
    const workspace = new Workspaces(join(root, 'workspaces')).create('op-1', 'dev', programDir, {}, 'salt', modulesDir);
    expect(readdirSync(workspace.dir).sort()).toEqual(['Pulumi.yaml', 'bundle', 'node_modules', 'stacks']);
    // Stack traces are mapped as in a real run: by source-map-support, which Pulumi's run script installs first.
    const node = (env: Record<string, string> = {}) => spawnSync(process.execPath, ['--require', createRequire(import.meta.url).resolve('source-map-support/register'), 'bundle/index.js'],
      { cwd: workspace.dir, encoding: 'utf8', env: { ...process.env, ...env } });
    const ok = node();
    expect(ok.status, ok.stderr).toBe(0);
    const failed = node({ FAIL: '1' });
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toContain('failing as asked to');
    // The bundle is linked into the workspace and Node runs it from its real path, the kept snapshot's.
    expect(failed.stderr).toContain(`${join(programDir, 'programs', 'other.ts')}:3:`);
  });

  it('refuses an altered bundle with plan_stale, and an altered snapshot as before', () => {
    const snapshots = new ProgramSnapshots(project, join(root, 'programs'));
    const digest = snapshots.current();
    const bundle = join(root, 'programs', digest, BUNDLE_DIR, 'bundle', 'index.js');
    writeFileSync(bundle, `${readFileSync(bundle, 'utf8')}\nconsole.log('injected');\n`);
    expect(refusal(() => snapshots.runnable(digest)).code).toBe('plan_stale');
    rmSync(join(root, 'programs', digest, BUNDLE_DIR), { recursive: true });
    expect(snapshots.runnable(digest).programDir).toMatch(/\.bundle$/); // a removed bundle is built again
    writeFileSync(join(root, 'programs', digest, 'programs', 'other.ts'), 'export function fail() {}\n');
    expect(refusal(() => snapshots.runnable(digest)).code).toBe('plan_stale');
  });

  it('names the file and line of a program that does not compile, and still lets runs that do not start it go on', () => {
    writeProject({ 'programs/other.ts': "export function fail(now: boolean): void {\n  const why: string = ;\n}\n" });
    const snapshots = new ProgramSnapshots(project, join(root, 'programs'));
    const digest = snapshots.current();
    const problem = snapshots.buildProblem(digest);
    expect(problem?.message).toMatch(/^the program does not compile: programs\/other\.ts:2:23: Unexpected ";"/);
    expect(problem?.errors).toEqual([{ file: 'programs/other.ts', line: 2, column: 23, text: 'Unexpected ";"' }]);
    const refused = refusal(() => snapshots.runnable(digest));
    expect(refused.code).toBe('program_build_failed');
    expect(refused.message).toContain('programs/other.ts:2:23');
    expect(snapshots.runnable(digest, { runsProgram: false }).programDir).toBe(join(root, 'programs', digest));
  });

  it('refuses a program with no entry point as one that does not compile, without trying esbuild again', () => {
    rmSync(join(project, 'programs', 'index.ts'));
    writeProject({ 'programs/package.json': '{"type": "commonjs"}\n' });
    const snapshots = new ProgramSnapshots(project, join(root, 'programs'));
    const digest = snapshots.current();
    const problem = snapshots.buildProblem(digest);
    expect(problem?.inProgram).toBe(true);
    expect(problem?.message).toBe('the program cannot be compiled: programs has no entry point (no package.json main, index.ts or index.js)');
    expect(refusal(() => snapshots.runnable(digest)).code).toBe('program_build_failed');
    expect(snapshots.buildProblem(digest)).toBe(problem); // remembered: a second run does not compile again
    expect(readdirSync(join(root, 'programs', digest))).not.toContain(BUNDLE_DIR);
  });

  it('names a main Pulumi.yaml points at that is missing, and a package.json that is not JSON', () => {
    writeProject({ 'Pulumi.yaml': PROGRAM['Pulumi.yaml'].replace('main: programs/', 'main: programs/start.ts') });
    let snapshots = new ProgramSnapshots(project, join(root, 'programs'));
    expect(snapshots.buildProblem(snapshots.current())?.message).toBe("the program cannot be compiled: Pulumi.yaml's main names programs/start.ts, which the program does not have");
    writeProject({ 'Pulumi.yaml': PROGRAM['Pulumi.yaml'], 'programs/package.json': '{"type": ' });
    snapshots = new ProgramSnapshots(project, join(root, 'programs'));
    const problem = snapshots.buildProblem(snapshots.current());
    expect(problem?.inProgram).toBe(true);
    expect(problem?.message).toMatch(/^the program cannot be compiled: programs\/package\.json is not valid JSON \(/);
    expect(problem?.message).not.toContain(root);
    // The project's own package.json, read when the program's folder has none, is named from the project too.
    rmSync(join(project, 'programs', 'package.json'));
    writeProject({ 'package.json': '{"type": ' });
    snapshots = new ProgramSnapshots(project, join(root, 'programs'));
    expect(snapshots.buildProblem(snapshots.current())?.message).toMatch(/^the program cannot be compiled: package\.json is not valid JSON \(/);
  });

  it('runs the sources as Pulumi.yaml says with bundles off', () => {
    const snapshots = new ProgramSnapshots(project, join(root, 'programs'), { bundles: false });
    const digest = snapshots.current();
    expect(snapshots.runnable(digest).programDir).toBe(join(root, 'programs', digest));
    expect(readdirSync(join(root, 'programs', digest))).not.toContain(BUNDLE_DIR);
  });

  it('compiles a snapshot kept by another process (or before bundles) on its first run, once', () => {
    const other = join(root, 'programs');
    const digest = new ProgramSnapshots(project, other, { bundles: false }).current();
    const a = new ProgramSnapshots(project, other);
    const b = new ProgramSnapshots(project, other);
    expect(a.runnable(digest).programDir).toBe(b.runnable(digest).programDir);
    expect(readdirSync(join(other, digest)).filter((name) => name.includes('.tmp'))).toEqual([]);
  });
});

describe('node arguments without tsx', () => {
  it('drops every way of loading tsx and keeps the rest', () => {
    expect(withoutTsx('--import tsx')).toEqual([]);
    expect(withoutTsx('--import=tsx/esm --max-old-space-size=512 -r tsx/cjs --require ./trace.js')).toEqual(['--max-old-space-size=512', '--require', './trace.js']);
    expect(withoutTsx('--loader tsx --import tsxfoo')).toEqual(['--import', 'tsxfoo']);
  });
});
