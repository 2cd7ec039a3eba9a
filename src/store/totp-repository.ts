// TOTP enrolments: one per principal, its seed sealed before it gets here.
import type { Kysely, Selectable } from 'kysely';
import type { Database, TotpEnrolmentsTable } from './schema.js';

export class TotpRepository {
  constructor(private readonly db: Kysely<Database>) {}

  get(principal: string, db: Kysely<Database> = this.db): Promise<Selectable<TotpEnrolmentsTable> | undefined> {
    return db.selectFrom('totp_enrolments').selectAll().where('principal', '=', principal).executeTakeFirst();
  }

  /** Replaces any unconfirmed enrolment of the principal. */
  async replace(principal: string, sealedSecret: string, db: Kysely<Database> = this.db): Promise<void> {
    await db.deleteFrom('totp_enrolments').where('principal', '=', principal).execute();
    await db.insertInto('totp_enrolments').values({ principal, secret: sealedSecret }).execute();
  }

  async confirm(principal: string, db: Kysely<Database> = this.db): Promise<void> {
    await db.updateTable('totp_enrolments').set({ confirmed: 1 }).where('principal', '=', principal).execute();
  }

  /** Compare-and-set on the last accepted time step: false when `step` was already used. */
  async acceptStep(principal: string, step: number, db: Kysely<Database> = this.db): Promise<boolean> {
    const accepted = await db.updateTable('totp_enrolments').set({ last_step: step })
      .where('principal', '=', principal).where('last_step', '<', step).executeTakeFirst();
    return Number(accepted.numUpdatedRows) === 1;
  }
}
