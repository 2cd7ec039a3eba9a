// Each environment's health checks, one row per environment (src/verification says what they mean).
import type { Kysely } from 'kysely';
import type { HealthCheckSpec } from '../verification/health-check-spec.js';
import { isoTime } from './rows.js';
import type { Database } from './schema.js';

export interface StoredHealthChecks {
  environment: string;
  spec: HealthCheckSpec;
  updatedBy: string;
  updatedAt: string;
}

export class HealthCheckRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async save(tx: Kysely<Database>, environment: string, spec: HealthCheckSpec, updatedBy: string, now = Date.now()): Promise<void> {
    const row = { spec: JSON.stringify(spec), updated_by: updatedBy, updated_at: now };
    await tx.insertInto('health_checks').values({ environment, ...row }).onConflict((oc) => oc.column('environment').doUpdateSet(row)).execute();
  }

  async delete(tx: Kysely<Database>, environment: string): Promise<boolean> {
    const result = await tx.deleteFrom('health_checks').where('environment', '=', environment).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async get(environment: string, db: Kysely<Database> = this.db): Promise<StoredHealthChecks | undefined> {
    const row = await db.selectFrom('health_checks').selectAll().where('environment', '=', environment).executeTakeFirst();
    return row && { environment: row.environment, spec: JSON.parse(row.spec), updatedBy: row.updated_by, updatedAt: isoTime(row.updated_at)! };
  }
}
