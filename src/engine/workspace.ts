// One workspace per run: a private folder holding the project (Pulumi.yaml and package.json
// copied, a link to the program it names, a link to the installed node_modules) and the
// stack's configuration written for this run alone. Runs of different stacks never share a
// mutable file, and the committed stack files are never written.
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { statStamped } from '../file-stamp.js';

export interface ProjectSettings {
  name: string;
  main?: string;
  stackConfigDir?: string;
}

/** Parsed Pulumi.yaml files by path, with the stat they were parsed at: parsing is most of programFiles()' cost, at every operation. */
const parsedSettings = new Map<string, { key: string; settings: Readonly<ProjectSettings> }>();

export function readProjectSettings(programDir: string): Readonly<ProjectSettings> {
  const file = join(programDir, 'Pulumi.yaml');
  const key = statStamped(file).stamp;
  const cached = parsedSettings.get(file);
  if (cached?.key === key) return cached.settings;
  const settings = parse(readFileSync(file, 'utf8')) as ProjectSettings;
  if (!settings?.name) throw new Error(`${file} names no project`);
  parsedSettings.set(file, { key, settings: Object.freeze(settings) });
  return settings;
}

const PROJECT_FILES = new Set(['Pulumi.yaml', 'package.json', 'package-lock.json', 'tsconfig.json']);

/** The files of a project that make up its program: Pulumi.yaml, its main, its package files. */
export function programFiles(programDir: string): string[] {
  const settings = readProjectSettings(programDir);
  const files = new Set(PROJECT_FILES);
  if (settings.main && settings.main !== '.' && settings.main !== './') {
    files.add(settings.main.replace(/^\.\//, '').replace(/\/$/, ''));
  } else {
    // No main folder: the program is the project folder's own files (index.js...).
    for (const name of readdirSync(programDir)) if (statSync(join(programDir, name)).isFile() && !/^Pulumi\..+\.ya?ml$/.test(name)) files.add(name);
  }
  return [...files].filter((file) => existsSync(join(programDir, file)));
}

/** Node arguments that load code before a program's entry (how tsx is started, among others). */
export const NODE_PRELOAD_FLAGS: readonly string[] = ['--import', '--require', '-r', '--loader', '--experimental-loader'];

/**
 * The node_modules the program resolves its packages from, as Node would: its own, or the
 * nearest one above it (the container image installs them once, beside the service).
 */
export function installedModules(programDir: string): string | undefined {
  for (let dir = resolve(programDir); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules'))) return realpathSync(join(dir, 'node_modules'));
    if (dirname(dir) === dir) return undefined;
  }
}

export interface Workspace {
  dir: string;
  /**
   * The paths a run in this workspace may print (in stack traces, diagnostics): the workspace
   * itself and the real folder of the program linked into it. Engine errors show them as
   * <program>, so no error names the data dir.
   */
  exposedPaths: string[];
  remove(): void;
}

export class Workspaces {
  constructor(private readonly root: string) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  /** A fresh workspace for `environment`, with its stack file holding `config` and the stack's salt. */
  create(name: string, environment: string, programDir: string, config: Record<string, unknown>, encryptionSalt: string, modulesDir?: string): Workspace {
    const dir = join(this.root, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const modules = modulesDir ?? installedModules(programDir);
    for (const file of programFiles(programDir)) {
      // The program's code is linked, not copied: Node loads a module from its real path, so
      // every run of a program reads it from the same place, and Node's compile cache (keyed
      // by path) keeps one entry per program, not one per run. Project files the CLI reads
      // are copied, so nothing a run does can write through to the kept program.
      if (PROJECT_FILES.has(file)) cpSync(join(programDir, file), join(dir, file));
      else symlinkSync(join(programDir, file), join(dir, file));
    }
    // From its real path the program looks for its packages beside the kept program, where
    // ProgramSnapshots links them (linkModules) when it hands out a snapshot to run.
    if (modules) symlinkSync(modules, join(dir, 'node_modules'));
    const file = stackFile(dir, programDir, environment);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, stringify({ encryptionsalt: encryptionSalt, config }));
    return { dir, exposedPaths: [dir, realpathSync(programDir)], remove: () => rmSync(dir, { recursive: true, force: true }) };
  }

  /** A workspace holding only the project file, for stack commands that run no program. */
  bare(name: string, programDir: string): Workspace {
    const dir = join(this.root, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    cpSync(join(programDir, 'Pulumi.yaml'), join(dir, 'Pulumi.yaml'));
    mkdirSync(join(dir, readProjectSettings(programDir).stackConfigDir ?? '.'), { recursive: true });
    return { dir, exposedPaths: [dir], remove: () => rmSync(dir, { recursive: true, force: true }) };
  }

  /** Removes a workspace left by a run whose process died. */
  remove(name: string): void {
    rmSync(join(this.root, name), { recursive: true, force: true });
  }
}

function stackFile(dir: string, programDir: string, environment: string): string {
  return join(dir, readProjectSettings(programDir).stackConfigDir ?? '.', `Pulumi.${environment}.yaml`);
}

/** Reads a stack file's encryption salt, as the CLI wrote it into a workspace. */
export function writtenSalt(dir: string, programDir: string, environment: string): string | undefined {
  const file = stackFile(dir, programDir, environment);
  if (!existsSync(file)) return undefined;
  return (parse(readFileSync(file, 'utf8')) as { encryptionsalt?: string } | null)?.encryptionsalt;
}

/** Reads the `config:` map the CLI wrote into a workspace's stack file. */
export function writtenConfig(dir: string, programDir: string, environment: string): Record<string, unknown> | undefined {
  const file = stackFile(dir, programDir, environment);
  if (!existsSync(file)) return undefined;
  return (parse(readFileSync(file, 'utf8')) as { config?: Record<string, unknown> } | null)?.config;
}

/** Writes a stack file holding only a salt into a bare workspace. */
export function writeSalt(dir: string, programDir: string, environment: string, salt: string): void {
  const file = stackFile(dir, programDir, environment);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, stringify({ encryptionsalt: salt }));
}

/**
 * Points `<programDir>/node_modules` at `modules`, unless it already does. Replaced by a rename,
 * so a run starting beside this one sees the old link or the new, never none.
 */
export function linkModules(programDir: string, modules: string): void {
  if (installedModules(programDir) === modules) return; // found there already, or above it
  const link = join(programDir, 'node_modules');
  const next = `${link}.${process.pid}.${Date.now()}`;
  symlinkSync(modules, next);
  renameSync(next, link);
}
