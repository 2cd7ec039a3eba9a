// A program snapshot compiled ahead of time: esbuild bundles the program's own files into one
// JavaScript file, once per snapshot, so an operation's program starts with plain node instead
// of compiling TypeScript through tsx at every run. The bundle is a small runnable project
// inside the snapshot (`.bundle/`): a Pulumi.yaml whose main is `bundle/` and whose node
// arguments no longer load tsx, and `bundle/index.js` with its source map.
//
// Stack traces reach the .ts lines through source-map-support, which Pulumi's run script
// installs before it loads the program and which reads a file's map only when a stack through
// it is printed. Node's own --enable-source-maps is not used: it reads and parses the map of
// every node_modules file loaded (@pulumi/kubernetes ships hundreds), which made loading the
// SDKs about a quarter slower here.
//
// Every package from node_modules stays external (a plain require at run time): @pulumi/pulumi
// is a singleton holding the run's state (the engine connection, the stack resource, config),
// and the run script Pulumi starts the program with must share it with the program.
//
// The bundle is derived data: the program digest covers the sources alone, as before (the
// bundle lies outside the files that digest names), and the bundle is bound to it by its
// manifest: the digest it was built from and the digest of the files it runs. An altered
// bundle is refused like an altered snapshot. Whoever can rewrite both the bundle and its
// manifest in the data dir is not stopped by this, as they would not be by a rewritten
// snapshot's sources and the database beside them.
import { buildSync, version as esbuildVersion, type BuildFailure, type Message } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { NODE_PRELOAD_FLAGS, programFiles, readProjectSettings } from '../engine/workspace.js';
import type { TreeDigests } from './tree-digests.js';

/** The bundle's folder inside a snapshot; a directory, so never one of the files its digest covers. */
export const BUNDLE_DIR = '.bundle';
/** The folder holding the compiled program inside the bundle (its Pulumi.yaml's main). */
const MAIN_DIR = 'bundle';
const MANIFEST = 'manifest.json';
/** The Node the engine runs programs with (the toolchain's, and the container image's). */
const NODE_TARGET = 'node24';

export interface BuildError {
  /** Relative to the project: programs/index.ts. */
  file: string | null;
  line: number | null;
  column: number | null;
  text: string;
}

/** Why a snapshot could not be compiled: a message naming file and line, and each error. */
export interface BundleProblem {
  message: string;
  errors: BuildError[];
  /** A build error in the program itself (it fails the same way on every try), not a failure to run esbuild. */
  inProgram: boolean;
}

interface Manifest {
  programDigest: string;
  bundleDigest: string;
  esbuild: string;
}

/**
 * Compiles the snapshot in `snapshotDir` into its `.bundle/` unless it is there already.
 * The bundle is written to a temporary folder and renamed into place, so two processes
 * compiling the same snapshot at once both end with one complete bundle.
 */
export function buildBundle(snapshotDir: string, programDigest: string, digests: TreeDigests): BundleProblem | undefined {
  const target = join(snapshotDir, BUNDLE_DIR);
  if (existsSync(target)) return undefined;
  let entry: { file: string; format: 'cjs' | 'esm' };
  let outputs: Array<{ path: string; contents: Uint8Array }>;
  try {
    entry = programEntry(snapshotDir);
    const tsconfig = join(snapshotDir, 'tsconfig.json');
    outputs = buildSync({
      entryPoints: [entry.file],
      absWorkingDir: snapshotDir,
      bundle: true,
      packages: 'external',
      platform: 'node',
      target: NODE_TARGET,
      format: entry.format,
      // Linked (a sourceMappingURL comment, which source-map-support follows), with the sources
      // inside: stack traces name programs/<file>.ts and its line (the map's paths are
      // relative, so they resolve inside the operation's workspace).
      sourcemap: 'linked',
      sourcesContent: true,
      // One folder below the project, as in the workspace, so the map's paths are ../programs/...
      outfile: join(snapshotDir, MAIN_DIR, 'index.js'),
      write: false,
      logLevel: 'silent',
      // The snapshot's own tsconfig.json, as tsx reads it; none: esbuild's defaults, never a
      // tsconfig.json found above the data dir.
      ...(existsSync(tsconfig) ? { tsconfig } : { tsconfigRaw: {} }),
    }).outputFiles;
  } catch (error) {
    return problemOf(error);
  }
  const building = `${target}.${process.pid}.tmp`;
  try {
    rmSync(building, { recursive: true, force: true });
    mkdirSync(join(building, MAIN_DIR), { recursive: true, mode: 0o700 });
    writeFileSync(join(building, 'Pulumi.yaml'), stringify(bundledProject(snapshotDir)));
    writeFileSync(join(building, MAIN_DIR, 'package.json'), `${JSON.stringify({ type: entry.format === 'esm' ? 'module' : 'commonjs', main: 'index.js' })}\n`);
    for (const output of outputs) writeFileSync(join(building, MAIN_DIR, relative(join(snapshotDir, MAIN_DIR), output.path)), output.contents);
    const manifest: Manifest = { programDigest, bundleDigest: digests.digest(building, programFiles(building)), esbuild: esbuildVersion };
    writeFileSync(join(building, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    return problemOf(error); // the data dir refused it (full, read-only): not the program's fault
  }
  try {
    renameSync(building, target);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another process put its bundle first
  }
  return undefined;
}

/** True when the snapshot's bundle is the one built from `programDigest`, unaltered. */
export function bundleMatches(snapshotDir: string, programDigest: string, digests: TreeDigests): boolean {
  const dir = join(snapshotDir, BUNDLE_DIR);
  try {
    const manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest;
    return manifest.programDigest === programDigest && manifest.bundleDigest === digests.digest(dir, programFiles(dir));
  } catch {
    return false;
  }
}

/**
 * The file the program starts from, found as Pulumi's run script finds it: Pulumi.yaml's main
 * when it names a file; else the main folder's package.json `main`, or its index.ts/index.js.
 * An ES module package (type: module) is bundled as one.
 */
function programEntry(projectDir: string): { file: string; format: 'cjs' | 'esm' } {
  const main = readProjectSettings(projectDir).main ?? '.';
  const target = resolve(projectDir, main);
  if (!existsSync(target)) throw new ProgramLayoutError(`Pulumi.yaml's main names ${main}, which the program does not have`);
  const folder = statSync(target).isDirectory() ? target : dirname(target);
  const manifest = readPackage(projectDir, folder) ?? readPackage(projectDir, projectDir) ?? {};
  const format = manifest.type === 'module' ? 'esm' : 'cjs';
  if (!statSync(target).isDirectory()) return { file: target, format };
  const candidates = [manifest.main, 'index.ts', 'index.js', 'index.mts', 'index.mjs'].filter((name): name is string => typeof name === 'string');
  const file = candidates.map((name) => resolve(folder, name)).find((path) => existsSync(path) && statSync(path).isFile());
  if (!file) throw new ProgramLayoutError(`${relative(projectDir, folder) || '.'} has no entry point (no package.json main, index.ts or index.js)`);
  return { file, format };
}

function readPackage(projectDir: string, folder: string): { main?: unknown; type?: unknown } | undefined {
  const file = join(folder, 'package.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { main?: unknown; type?: unknown };
  } catch (error) {
    throw new ProgramLayoutError(`${relative(projectDir, file)} is not valid JSON (${(error as Error).message})`);
  }
}

/** The program names no file to start from: it fails the same way on every try, as a build error does. */
class ProgramLayoutError extends Error {}

/** The snapshot's Pulumi.yaml, running the bundle: main bundle/, no TypeScript, no tsx. */
function bundledProject(snapshotDir: string): Record<string, unknown> {
  const project = parse(readFileSync(join(snapshotDir, 'Pulumi.yaml'), 'utf8')) as Record<string, unknown>;
  const runtime = (typeof project.runtime === 'string' ? { name: project.runtime } : { ...(project.runtime as Record<string, unknown>) }) as
    { name: string; options?: Record<string, unknown> };
  const options: Record<string, unknown> = { ...runtime.options };
  delete options.tsconfig;
  const nodeargs = withoutTsx(typeof options.nodeargs === 'string' ? options.nodeargs : '');
  if (nodeargs.length) options.nodeargs = nodeargs.join(' ');
  else delete options.nodeargs;
  return { ...project, runtime: { ...runtime, options: { ...options, typescript: false } }, main: `${MAIN_DIR}/` };
}

/** Node arguments without the ones that load tsx (--import tsx, --import=tsx/esm, --require tsx/cjs...). */
export function withoutTsx(nodeargs: string): string[] {
  const isTsx = (module: string | undefined) => module !== undefined && /^tsx(\/|$)/.test(module);
  const args = nodeargs.split(/\s+/).filter(Boolean);
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (NODE_PRELOAD_FLAGS.includes(arg) && isTsx(args[i + 1])) {
      i++;
      continue;
    }
    const [flag, value] = arg.split('=', 2);
    if (NODE_PRELOAD_FLAGS.includes(flag!) && isTsx(value)) continue;
    kept.push(arg);
  }
  return kept;
}

function problemOf(error: unknown): BundleProblem {
  if (error instanceof ProgramLayoutError) {
    return { message: `the program cannot be compiled: ${error.message}`, errors: [{ file: null, line: null, column: null, text: error.message }], inProgram: true };
  }
  const messages = (error as Partial<BuildFailure>).errors;
  if (!Array.isArray(messages) || messages.length === 0) {
    const text = error instanceof Error ? error.message : String(error);
    return { message: `the program could not be compiled: ${text}`, errors: [{ file: null, line: null, column: null, text }], inProgram: false };
  }
  const errors = messages.map(buildError);
  const shown = errors.slice(0, 5).map((e) => (e.file ? `${e.file}:${e.line}:${e.column}: ${e.text}` : e.text));
  const more = errors.length > shown.length ? ` (and ${errors.length - shown.length} more)` : '';
  return { message: `the program does not compile: ${shown.join('; ')}${more}`, errors, inProgram: true };
}

function buildError(message: Message): BuildError {
  const location = message.location;
  // esbuild counts columns from 0; editors and stack traces from 1.
  return location
    ? { file: location.file, line: location.line, column: location.column + 1, text: message.text }
    : { file: null, line: null, column: null, text: message.text };
}
