// What a file's stat says about its content without reading it: its inode, size and
// modification time to the nanosecond. Every write moves the mtime, so a cache keyed by the
// stamp reads and parses or hashes a file again only when it changed. What the stamp can miss
// (a file rewritten within one timestamp tick, or one whose mtime was set back on purpose) is
// written down in releases/tree-digests.ts, the cache where it matters most.
import { statSync, type BigIntStats } from 'node:fs';

/** The stamp of stats read with `{ bigint: true }`: the nanosecond mtime needs a bigint. */
export const stampOf = (stats: BigIntStats): string => `${stats.ino}:${stats.size}:${stats.mtimeNs}`;

/** The file's stats (bigint) and its stamp; throws as statSync does when it is missing. */
export function statStamped(path: string): { stats: BigIntStats; stamp: string } {
  const stats = statSync(path, { bigint: true });
  return { stats, stamp: stampOf(stats) };
}
