// Failed authentications, by subject (`source:<address>` or `principal:<name>`), in the
// database so every replica counts the same ones.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export class AuthFailureRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records a failure of each subject and forgets those older than `forgetBefore`. */
  async record(subjects: readonly string[], at: number, forgetBefore: number): Promise<void> {
    await this.db.insertInto('auth_failures').values(subjects.map((subject) => ({ subject, source: subject, at }))).execute();
    await this.db.deleteFrom('auth_failures').where('at', '<', forgetBefore).execute();
  }

  /** Times of the newest `limit` failures of a subject since `since`, newest first. */
  async recent(subject: string, since: number, limit: number): Promise<number[]> {
    const rows = await this.db.selectFrom('auth_failures').select('at').where('subject', '=', subject).where('at', '>=', since)
      .orderBy('at', 'desc').limit(limit).execute();
    return rows.map((r) => Number(r.at));
  }
}
