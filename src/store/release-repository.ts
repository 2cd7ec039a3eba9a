// Releases: what each succeeded update put into an environment, numbered 1, 2, 3… per
// environment. At most one is `current` per environment (a unique index says so); the one it
// replaces becomes `superseded`, or `rolled_back` when a rollback replaced it.
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { decodeCursor, isoTime, keysetPage, type Page } from './rows.js';
import type { Database, ReleasesTable } from './schema.js';

export type ReleaseStatus = 'current' | 'superseded' | 'rolled_back';

/** Where the environment has health checks: how the release's verification went (src/verification). */
export type VerificationStatus = 'verifying' | 'verified' | 'failed_verification' | 'inconclusive';

export interface Release {
  id: string;
  environment: string;
  number: number;
  configVersion: number;
  programDigest: string;
  /** The workload image settings, by configuration path. */
  images: Record<string, string>;
  operationId: string;
  requestedBy: string;
  approvedBy: string[];
  createdAt: string;
  status: ReleaseStatus;
  /** Null where the environment had no health checks when the release was made. */
  verification: VerificationStatus | null;
}

export type NewRelease = Pick<Release, 'environment' | 'configVersion' | 'programDigest' | 'images' | 'operationId' | 'requestedBy' | 'approvedBy'>;

export class ReleaseRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Makes the release current in `tx`; the current one before it becomes `replacedAs`. */
  async record(tx: Kysely<Database>, release: NewRelease, replacedAs: Exclude<ReleaseStatus, 'current'>, now = Date.now()): Promise<{ release: Release; replaced: Release | undefined }> {
    const replaced = await this.current(release.environment, tx);
    if (replaced) await tx.updateTable('releases').set({ status: replacedAs }).where('id', '=', replaced.id).execute();
    const last = await tx.selectFrom('releases').select((eb) => eb.fn.max('number').as('n')).where('environment', '=', release.environment).executeTakeFirst();
    const row = await tx.insertInto('releases').values({
      id: randomUUID(), environment: release.environment, number: Number(last?.n ?? 0) + 1, config_version: release.configVersion,
      program_digest: release.programDigest, images: JSON.stringify(release.images), operation_id: release.operationId,
      requested_by: release.requestedBy, approved_by: JSON.stringify(release.approvedBy), status: 'current', created_at: now, verification: null,
    }).returningAll().executeTakeFirstOrThrow();
    return { release: toRelease(row), replaced: replaced && { ...replaced, status: replacedAs } };
  }

  async current(environment: string, db: Kysely<Database> = this.db): Promise<Release | undefined> {
    const row = await db.selectFrom('releases').selectAll().where('environment', '=', environment).where('status', '=', 'current').executeTakeFirst();
    return row && toRelease(row);
  }

  async get(environment: string, id: string): Promise<Release | undefined> {
    const row = await this.db.selectFrom('releases').selectAll().where('environment', '=', environment).where('id', '=', id).executeTakeFirst();
    return row && toRelease(row);
  }

  /** The newest release before `number` that was not rolled back: what "previous" means to a rollback. */
  async previous(environment: string, number: number): Promise<Release | undefined> {
    const row = await this.db.selectFrom('releases').selectAll().where('environment', '=', environment).where('number', '<', number)
      .where('status', '!=', 'rolled_back').orderBy('number', 'desc').limit(1).executeTakeFirst();
    return row && toRelease(row);
  }

  async setVerification(tx: Kysely<Database>, id: string, verification: VerificationStatus): Promise<void> {
    await tx.updateTable('releases').set({ verification }).where('id', '=', id).execute();
  }

  /** The newest release before `number` that passed its verification: where an automatic rollback returns to. */
  async lastVerified(environment: string, number: number): Promise<Release | undefined> {
    const row = await this.db.selectFrom('releases').selectAll().where('environment', '=', environment).where('number', '<', number)
      .where('verification', '=', 'verified').orderBy('number', 'desc').limit(1).executeTakeFirst();
    return row && toRelease(row);
  }

  async list(environment: string, limit: number, cursor?: string): Promise<Page<Release>> {
    let query = this.db.selectFrom('releases').selectAll().where('environment', '=', environment);
    if (cursor !== undefined) query = query.where('seq', '<', decodeCursor(cursor));
    return keysetPage(await query.orderBy('seq', 'desc').limit(limit + 1).execute(), limit, toRelease);
  }
}

function toRelease(row: Selectable<ReleasesTable>): Release {
  return {
    id: row.id, environment: row.environment, number: row.number, configVersion: row.config_version, programDigest: row.program_digest,
    images: JSON.parse(row.images), operationId: row.operation_id, requestedBy: row.requested_by, approvedBy: JSON.parse(row.approved_by),
    createdAt: isoTime(row.created_at)!, status: row.status as ReleaseStatus,
    verification: (row.verification ?? null) as VerificationStatus | null,
  };
}
