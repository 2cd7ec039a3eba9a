// Programs by content: an operation records the digest of the program it runs (sha256 over
// Pulumi.yaml, the program folder, package.json and package-lock.json), and the program is
// kept under that digest in the data dir, once per digest. An older release is deployed from
// its own snapshot, exactly as it ran; a snapshot is only ever run against the dependencies it
// was locked with: the installed ones must match its package-lock.json.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { installedModules, programFiles } from '../engine/workspace.js';
import { ConflictError } from '../errors.js';

const LOCK_FILE = 'package-lock.json';

export class RunRefusal extends Error {
  constructor(readonly code: 'dependencies_changed' | 'program_missing' | 'plan_stale' | 'backup_mismatch' | 'backup_checksum_mismatch', message: string) {
    super(message);
  }
}

export class ProgramSnapshots {
  private readonly known = new Map<string, string>();

  constructor(private readonly projectDir: string, private readonly root: string) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  /** The digest of the project's program as it is on disk now, kept as a snapshot if it is new. */
  current(): string {
    const digest = programDigest(this.projectDir);
    if (!this.known.has(digest) && !existsSync(this.dir(digest))) {
      const building = `${this.dir(digest)}.${process.pid}.tmp`;
      rmSync(building, { recursive: true, force: true });
      mkdirSync(building, { recursive: true, mode: 0o700 });
      for (const file of programFiles(this.projectDir)) cpSync(join(this.projectDir, file), join(building, file), { recursive: true });
      try {
        renameSync(building, this.dir(digest));
      } catch {
        rmSync(building, { recursive: true, force: true }); // another process kept it first
      }
    }
    this.known.set(digest, this.dir(digest));
    return digest;
  }

  dir(digest: string): string {
    return join(this.root, digest);
  }

  /** Throws unless a snapshot with this digest is kept. */
  require(digest: string): void {
    if (!existsSync(this.dir(digest))) throw new ConflictError('program_missing', `no snapshot of program ${digest.slice(0, 12)} is kept: it cannot be deployed again`);
  }

  /**
   * Where to run a snapshot from, and with which node_modules: refused when the snapshot is
   * gone, was altered, or was locked with dependencies other than those installed.
   */
  runnable(digest: string): { programDir: string; modulesDir?: string } {
    const dir = this.dir(digest);
    // Another replica queued it: its snapshot is in that replica's data dir, and ours is made
    // from the project on disk when that is the same program.
    if (!existsSync(dir) && this.current() !== digest) throw new RunRefusal('program_missing', `no snapshot of program ${digest.slice(0, 12)} is kept on this server`);
    if (programDigest(dir) !== digest) throw new RunRefusal('plan_stale', `the snapshot of program ${digest.slice(0, 12)} no longer matches its digest`);
    const lock = (folder: string) => (existsSync(join(folder, LOCK_FILE)) ? readFileSync(join(folder, LOCK_FILE), 'utf8') : '');
    if (lock(dir) !== lock(this.projectDir)) {
      throw new RunRefusal('dependencies_changed', `program ${digest.slice(0, 12)} was locked with other dependencies than those installed now `
        + '(its package-lock.json differs): it is not run against them. Deploy a release made with the current dependencies, or reinstall the old ones');
    }
    return { programDir: dir, modulesDir: installedModules(this.projectDir) };
  }
}

/** sha256 over the program's files, by path and content, in a stable order. */
export function programDigest(projectDir: string): string {
  const hash = createHash('sha256');
  const add = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) if (name !== 'node_modules') add(join(path, name));
      return;
    }
    hash.update(relative(projectDir, path)).update('\0').update(readFileSync(path)).update('\0');
  };
  for (const file of programFiles(projectDir).sort()) add(join(projectDir, file));
  return hash.digest('hex');
}
