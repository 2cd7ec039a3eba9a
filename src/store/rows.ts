// What every repository does with rows the same way: times as ISO strings, and keyset pages
// over the `seq` column (newest first, an opaque cursor to the next page).
import { InvalidInputError } from '../errors.js';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Epoch milliseconds (a JS number, or a bigint string from some drivers) as ISO 8601. */
export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(Number(ms)).toISOString();
}

export function encodeCursor(seq: number): string {
  return Buffer.from(`s${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const match = /^s(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new InvalidInputError('invalid_cursor', 'cursor is not one this service returned', { field: 'cursor' });
  return Number(match[1]);
}

/**
 * A page from rows fetched newest first with `limit + 1`: the extra row only says that another
 * page follows, whose cursor is the last kept row's seq.
 */
export function keysetPage<R extends { seq: number }, T>(rows: R[], limit: number, map: (row: R) => T): Page<T> {
  const kept = rows.slice(0, limit);
  const last = kept.at(-1);
  return { items: kept.map(map), nextCursor: rows.length > limit && last ? encodeCursor(last.seq) : null };
}
