// Per-stack state the service generates for its installation (the secrets provider's salt),
// kept in the database so every replica uses the same, and never in committed files.
import type { Kysely } from 'kysely';
import type { SaltStore } from '../engine/stack-secrets.js';
import type { Database } from './schema.js';

export class StackRepository implements SaltStore {
  constructor(private readonly db: Kysely<Database>) {}

  async get(environment: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('stacks').select('encryption_salt').where('environment', '=', environment).executeTakeFirst();
    return row?.encryption_salt;
  }

  async put(environment: string, salt: string): Promise<string> {
    await this.db.insertInto('stacks').values({ environment, encryption_salt: salt, created_at: Date.now() })
      .onConflict((oc) => oc.column('environment').doNothing()).execute();
    return (await this.get(environment))!;
  }
}
