// Release verifications. A replica claims the ones that are running and that no live lease
// holds with one conditional update (timed by the database's clock, like operation leases), and
// every write it makes afterwards is conditional on still holding the lease: a replica that
// lost it (it stalled past its lease and another took over) changes nothing.
import type { Kysely, Selectable } from 'kysely';
import type { VerificationStatus } from './release-repository.js';
import type { HealthCheckSpec } from '../verification/health-check-spec.js';
import type { Progress } from '../verification/verification-progress.js';
import type { DeploymentRef } from '../verification/kubernetes-rollout.js';
import { databaseNow, databaseNowPlus } from './clock.js';
import type { DialectName } from './migrations.js';
import { isoTime } from './rows.js';
import type { Database, ReleaseVerificationsTable } from './schema.js';

/** The checks as they began, and what the verifier learnt once (the Deployments to watch, the kubeconfig to read them with). */
export interface VerificationPlan {
  spec: HealthCheckSpec;
  images: string[];
  /** The release's configuration version: its `kubeconfig` setting names the cluster the rollout check reads. */
  configVersion: number;
  /** Set on the first rollout measurement. */
  deployments?: DeploymentRef[];
}

export interface Verification {
  releaseId: string;
  environment: string;
  releaseNumber: number;
  status: VerificationStatus;
  plan: VerificationPlan;
  progress: Progress;
  /** False for a release an automatic rollback made: rolling it back in turn could loop. */
  mayRollBack: boolean;
  startedAt: number;
  bakeUntil: number;
  finishedAt: number | null;
  reason: string | null;
  rollbackOperationId: string | null;
}

export class VerificationRepository {
  constructor(private readonly db: Kysely<Database>, private readonly dialect: DialectName) {}

  async begin(tx: Kysely<Database>, v: Pick<Verification, 'releaseId' | 'environment' | 'releaseNumber' | 'plan' | 'progress' | 'mayRollBack' | 'startedAt' | 'bakeUntil'>): Promise<void> {
    await tx.insertInto('release_verifications').values({
      release_id: v.releaseId, environment: v.environment, release_number: v.releaseNumber, status: 'verifying', spec: JSON.stringify(v.plan),
      progress: JSON.stringify(v.progress), may_roll_back: v.mayRollBack ? 1 : 0, started_at: v.startedAt, bake_until: v.bakeUntil,
      finished_at: null, reason: null, rollback_operation_id: null, lease_owner: null, lease_expires_at: null,
    }).execute();
  }

  async get(releaseId: string, db: Kysely<Database> = this.db): Promise<Verification | undefined> {
    const row = await db.selectFrom('release_verifications').selectAll().where('release_id', '=', releaseId).executeTakeFirst();
    return row && toVerification(row);
  }

  /** The environment's verifications still running (at most one, but a crash between writes must not hide a second). */
  async running(environment: string, tx: Kysely<Database>): Promise<Verification[]> {
    const rows = await tx.selectFrom('release_verifications').selectAll().where('environment', '=', environment).where('status', '=', 'verifying').execute();
    return rows.map(toVerification);
  }

  /** Takes every running verification of `environments` whose lease is free or expired (or already ours); returns those now ours. */
  async claim(owner: string, leaseMs: number, environments: readonly string[]): Promise<Verification[]> {
    if (!environments.length) return [];
    await this.db.updateTable('release_verifications').set({ lease_owner: owner, lease_expires_at: databaseNowPlus(this.dialect, leaseMs) })
      .where('status', '=', 'verifying').where('environment', 'in', [...environments])
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_expires_at', '<', databaseNow(this.dialect))]))
      .execute();
    const rows = await this.db.selectFrom('release_verifications').selectAll().where('status', '=', 'verifying').where('lease_owner', '=', owner)
      .orderBy('started_at').execute();
    return rows.map(toVerification);
  }

  /** Records progress and renews the lease; false when the lease is no longer `owner`'s. */
  async progress(owner: string, leaseMs: number, releaseId: string, plan: VerificationPlan, progress: Progress): Promise<boolean> {
    const result = await this.db.updateTable('release_verifications')
      .set({ spec: JSON.stringify(plan), progress: JSON.stringify(progress), lease_expires_at: databaseNowPlus(this.dialect, leaseMs) })
      .where('release_id', '=', releaseId).where('status', '=', 'verifying').where('lease_owner', '=', owner).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Ends a running verification in `tx`; false when it had ended, or `owner` (if given) no longer holds it. */
  async finish(tx: Kysely<Database>, releaseId: string, end: { status: Exclude<VerificationStatus, 'verifying'>; reason: string; progress?: Progress; rollbackOperationId?: string | null; owner?: string }, now = Date.now()): Promise<boolean> {
    let query = tx.updateTable('release_verifications').set({
      status: end.status, reason: end.reason, finished_at: now, rollback_operation_id: end.rollbackOperationId ?? null, lease_owner: null, lease_expires_at: null,
      ...(end.progress ? { progress: JSON.stringify(end.progress) } : {}),
    }).where('release_id', '=', releaseId).where('status', '=', 'verifying');
    if (end.owner) query = query.where('lease_owner', '=', end.owner);
    return Number((await query.executeTakeFirst()).numUpdatedRows) === 1;
  }
}

function toVerification(row: Selectable<ReleaseVerificationsTable>): Verification {
  return {
    releaseId: row.release_id, environment: row.environment, releaseNumber: row.release_number, status: row.status as VerificationStatus,
    plan: JSON.parse(row.spec), progress: JSON.parse(row.progress), mayRollBack: Boolean(row.may_roll_back),
    startedAt: Number(row.started_at), bakeUntil: Number(row.bake_until), finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    reason: row.reason, rollbackOperationId: row.rollback_operation_id,
  };
}

/** As the API shows it. */
export function verificationView(v: Verification) {
  return {
    releaseId: v.releaseId, environment: v.environment, releaseNumber: v.releaseNumber, status: v.status, spec: v.plan.spec,
    checks: v.progress, startedAt: isoTime(v.startedAt)!, bakeUntil: isoTime(v.bakeUntil)!, finishedAt: isoTime(v.finishedAt),
    reason: v.reason, rollbackOperationId: v.rollbackOperationId,
  };
}
