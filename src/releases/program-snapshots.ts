// Programs by content: an operation records the digest of the program it runs (sha256 over
// Pulumi.yaml, the program folder, package.json and package-lock.json), and the program is
// kept under that digest in the data dir, once per digest. An older release is deployed from
// its own snapshot, exactly as it ran; a snapshot is only ever run against the dependencies it
// was locked with: the installed ones must match its package-lock.json.
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { installedModules, linkModules, programFiles } from '../engine/workspace.js';
import { ConflictError } from '../errors.js';
import { BUNDLE_DIR, buildBundle, bundleMatches, type BundleProblem } from './program-bundles.js';
import { TreeDigests } from './tree-digests.js';

const LOCK_FILE = 'package-lock.json';

export class RunRefusal extends Error {
  constructor(readonly code: 'dependencies_changed' | 'program_missing' | 'plan_stale' | 'program_build_failed' | 'backup_mismatch' | 'backup_checksum_mismatch', message: string) {
    super(message);
  }
}

export interface ProgramSnapshotOptions {
  /** Run snapshots compiled by esbuild (true), or their sources through tsx as Pulumi.yaml says (false). */
  bundles: boolean;
}

export class ProgramSnapshots {
  private readonly known = new Map<string, string>();
  private readonly digests = new TreeDigests();
  /** Snapshots whose bundle is in place, and those whose program does not compile, in this process. */
  private readonly bundled = new Set<string>();
  private readonly problems = new Map<string, BundleProblem>();
  /** Snapshots given a node_modules link to the installed packages, and which, in this process. */
  private readonly linked = new Map<string, string>();

  constructor(private readonly projectDir: string, private readonly root: string, private readonly options: ProgramSnapshotOptions = { bundles: true }) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  /**
   * The digest of the project's program as it is on disk now, kept as a snapshot (and
   * compiled, with bundles on) if it is new. A program that does not compile is still kept:
   * buildProblem() says why, and operations that do not run it (refresh, destroy, restore) can.
   */
  current(): string {
    const digest = this.digests.digest(this.projectDir, programFiles(this.projectDir));
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
    if (this.options.bundles) this.compile(digest);
    return digest;
  }

  /** Why the snapshot cannot be compiled, with bundles on; undefined when it can (or bundles are off). */
  buildProblem(digest: string): BundleProblem | undefined {
    return this.problems.get(digest);
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
   * gone, was altered, or was locked with dependencies other than those installed; with
   * bundles on, also when its bundle was altered, or when the program does not compile and
   * the run would start it (`runsProgram`; a refresh or destroy then runs from the sources).
   * When the bundle cannot be made for another reason (esbuild cannot run, the data dir
   * refuses the write), the sources run through tsx, as with bundles off.
   * The verification reads only files whose stat changed since it last hashed them.
   */
  runnable(digest: string, { runsProgram = true }: { runsProgram?: boolean } = {}): { programDir: string; modulesDir?: string } {
    const dir = this.dir(digest);
    // Another replica queued it: its snapshot is in that replica's data dir, and ours is made
    // from the project on disk when that is the same program.
    if (!existsSync(dir) && this.current() !== digest) throw new RunRefusal('program_missing', `no snapshot of program ${digest.slice(0, 12)} is kept on this server`);
    if (this.digests.digest(dir, programFiles(dir)) !== digest) throw new RunRefusal('plan_stale', `the snapshot of program ${digest.slice(0, 12)} no longer matches its digest`);
    if (this.digests.fileSha256(join(dir, LOCK_FILE)) !== this.digests.fileSha256(join(this.projectDir, LOCK_FILE))) {
      throw new RunRefusal('dependencies_changed', `program ${digest.slice(0, 12)} was locked with other dependencies than those installed now `
        + '(its package-lock.json differs): it is not run against them. Deploy a release made with the current dependencies, or reinstall the old ones');
    }
    const modulesDir = installedModules(this.projectDir);
    if (modulesDir) this.linkModules(dir, modulesDir);
    if (!this.options.bundles) return { programDir: dir, modulesDir };
    const problem = this.compile(digest);
    // esbuild could not run, or the bundle could not be written: the sources run as before.
    if (problem && !problem.inProgram) return { programDir: dir, modulesDir };
    if (problem) {
      if (runsProgram) throw new RunRefusal('program_build_failed', `program ${digest.slice(0, 12)}: ${problem.message}`);
      return { programDir: dir, modulesDir };
    }
    if (!bundleMatches(dir, digest, this.digests)) {
      throw new RunRefusal('plan_stale', `the compiled bundle of program ${digest.slice(0, 12)} no longer matches the program it was built from`);
    }
    return { programDir: join(dir, BUNDLE_DIR), modulesDir };
  }

  /**
   * A run loads the program from its real path in the snapshot (sources or bundle), so its
   * packages must be found from there: a node_modules link beside the snapshot, made once.
   */
  private linkModules(dir: string, modulesDir: string): void {
    if (this.linked.get(dir) === modulesDir) return;
    linkModules(dir, modulesDir);
    this.linked.set(dir, modulesDir);
  }

  /**
   * Compiles a kept snapshot once per process (one kept before bundles, or by a process with
   * them off, is compiled on its first run). A program that does not compile fails the same
   * way every time, so that is remembered; a failure to run esbuild at all is tried again.
   */
  private compile(digest: string): BundleProblem | undefined {
    if (this.bundled.has(digest) && existsSync(join(this.dir(digest), BUNDLE_DIR))) return undefined;
    const known = this.problems.get(digest);
    if (known) return known;
    const problem = buildBundle(this.dir(digest), digest, this.digests);
    if (!problem) this.bundled.add(digest);
    else if (problem.inProgram) this.problems.set(digest, problem);
    return problem;
  }
}
