// sha256 digests of file trees, cached by each file's stat: a tree whose files all still have
// the path, inode, size and mtime they had when it was last hashed costs one stat per file and
// one readdir per folder, not a read and a hash of every file. The program digest is computed
// at every enqueue and a snapshot is verified at every run, so this is on the hot path.
//
// What the stat key can miss: a file rewritten in place to the same size within the same
// mtime tick (the file system's timestamp granularity, nanoseconds on ext4/xfs, seconds on
// some others), or one whose mtime was set back on purpose (`touch -d`, `cp -p`, `rsync -t`)
// while keeping its size and inode. Git, editors and `cp` without -p all change the mtime, so a
// deliberate edit is seen; a deliberate forgery that restores mtime and size is not, until this
// process restarts (the cache lives in memory only) and hashes everything again.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { statStamped } from '../file-stamp.js';

interface Entry {
  /** The relative path the digest covers, as hashed. */
  path: string;
  key: string;
}

export class TreeDigests {
  /** Per root and file list: the files' stat keys when last hashed, and the digest they gave. */
  private readonly trees = new Map<string, { entries: Entry[]; digest: string }>();
  /** Per file: its stat key when last hashed, and its sha256. */
  private readonly files = new Map<string, { key: string; sha256: string }>();
  /** Full reads and hashes done (not cache hits), for tests and measures. */
  hashed = 0;

  /**
   * sha256 over the files of `root` named by `paths` (a folder: every file under it, except
   * node_modules), each as its path relative to `root`, a NUL, its content and a NUL, sorted by
   * path. The formula is the one program digests always had, so digests recorded before this
   * cache existed (operations, releases, snapshot folder names) still match.
   */
  digest(root: string, paths: readonly string[]): string {
    const entries = listFiles(root, paths);
    const cacheKey = `${root}\0${paths.join('\0')}`;
    const cached = this.trees.get(cacheKey);
    if (cached && sameEntries(cached.entries, entries)) return cached.digest;
    // Something changed: the formula streams every file's content, so the tree is read again.
    const hash = createHash('sha256');
    for (const entry of entries) hash.update(entry.path).update('\0').update(readFileSync(join(root, entry.path))).update('\0');
    this.hashed++;
    const digest = hash.digest('hex');
    this.trees.set(cacheKey, { entries, digest });
    return digest;
  }

  /** sha256 of one file ('' when it does not exist), re-read only when its stat changed. */
  fileSha256(path: string): string {
    let key: string;
    try {
      key = statStamped(path).stamp;
    } catch {
      return '';
    }
    const cached = this.files.get(path);
    if (cached?.key === key) return cached.sha256;
    const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
    this.hashed++;
    this.files.set(path, { key, sha256 });
    return sha256;
  }
}

/** Every file under `paths` (relative to `root`), sorted as the digest orders them, with its stat key. */
function listFiles(root: string, paths: readonly string[]): Entry[] {
  const entries: Entry[] = [];
  const add = (path: string) => {
    const { stats, stamp } = statStamped(path);
    if (stats.isDirectory()) {
      for (const name of readdirSync(path).sort()) if (name !== 'node_modules') add(join(path, name));
      return;
    }
    entries.push({ path: relative(root, path), key: stamp });
  };
  for (const path of [...paths].sort()) add(join(root, path));
  return entries;
}

function sameEntries(a: readonly Entry[], b: readonly Entry[]): boolean {
  return a.length === b.length && a.every((entry, i) => entry.path === b[i]!.path && entry.key === b[i]!.key);
}
