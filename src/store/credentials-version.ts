// The credentials version (migration 0011): a value the database changes, in the same
// transaction, with every change that can make a credential refuse where it accepted (a key
// revoked, rotated, expired or its grants changed, a session ended, a failed authentication
// recorded). A replica that caches credentials reads it on every request and drops its whole
// cache when it differs, so a change committed on any replica counts on the next request on
// every replica. Concurrent requests share one read (CoalescedRead), each still seeing a value
// read after it arrived.
import { CompiledQuery, type Kysely } from 'kysely';
import { CoalescedRead } from './coalesced-read.js';
import type { Database } from './schema.js';

const READ = CompiledQuery.raw('select version from credentials_version where id = 1');

export class CredentialsVersion {
  private readonly reads: CoalescedRead<string>;

  constructor(db: Kysely<Database>) {
    this.reads = new CoalescedRead(async () => {
      const { rows } = await db.executeQuery<{ version: string }>(READ);
      if (!rows[0]) throw new Error('the credentials_version row is missing');
      return rows[0].version;
    });
  }

  /** The version as of a read that started after this call. */
  current(): Promise<string> {
    return this.reads.current();
  }
}
