// An environment's health checks, set through the API by an admin of the environment (audited),
// and what they start: in the transaction that records a release, its verification begins
// (`verifying`) with the checks as they are then; a verification still running for the release
// it replaced ends `inconclusive`, since what it measured is no longer what runs.
import type { Kysely } from 'kysely';
import type { Actor } from '../auth/actor.js';
import type { Action, Governance } from '../auth/governance.js';
import type { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { NotFoundError } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import type { HealthCheckRepository, StoredHealthChecks } from '../store/health-check-repository.js';
import type { OutboxRepository } from '../store/outbox-repository.js';
import type { Release, ReleaseRepository } from '../store/release-repository.js';
import type { Database } from '../store/schema.js';
import { verificationView, type Verification, type VerificationRepository } from '../store/verification-repository.js';
import { normalizeSpec, type HealthCheckInput } from './health-check-spec.js';
import { emptyProgress } from './verification-progress.js';

export class HealthChecks {
  constructor(
    private readonly checks: HealthCheckRepository,
    private readonly verifications: VerificationRepository,
    private readonly releases: ReleaseRepository,
    private readonly catalog: EnvironmentCatalog,
    private readonly governance: Governance,
    private readonly outbox: OutboxRepository,
    private readonly defaultPrometheusUrl: string | undefined,
  ) {}

  async set(actor: Actor, environment: string, input: HealthCheckInput): Promise<StoredHealthChecks> {
    const action = this.action('setHealthChecks', environment);
    await this.governance.authorize(actor, action);
    this.catalog.require(environment);
    const spec = normalizeSpec(input, this.defaultPrometheusUrl);
    await this.governance.act(actor, action, (tx) => this.checks.save(tx, environment, spec, actor.principal));
    return (await this.checks.get(environment))!;
  }

  async get(actor: Actor, environment: string): Promise<StoredHealthChecks> {
    await this.governance.authorize(actor, { name: 'getHealthChecks', target: `environment:${environment}`, environment, permission: 'read' });
    this.catalog.require(environment);
    const stored = await this.checks.get(environment);
    if (!stored) throw new NotFoundError('health_checks_not_found', `environment ${environment} has no health checks: its releases are not verified`);
    return stored;
  }

  async remove(actor: Actor, environment: string): Promise<void> {
    const action = this.action('deleteHealthChecks', environment);
    await this.governance.authorize(actor, action);
    this.catalog.require(environment);
    await this.governance.act(actor, action, async (tx) => {
      if (!(await this.checks.delete(tx, environment))) throw new NotFoundError('health_checks_not_found', `environment ${environment} has no health checks`);
    });
  }

  /** A release's verification, as the API shows it. */
  async verification(actor: Actor, environment: string, releaseId: string) {
    await this.governance.authorize(actor, { name: 'getReleaseVerification', target: `environment:${environment}`, environment, permission: 'read' });
    this.catalog.require(environment);
    const found = await this.verifications.get(releaseId);
    if (!found || found.environment !== environment) throw new NotFoundError('verification_not_found', `release ${releaseId} of ${environment} was not verified: its environment had no health checks`);
    return verificationView(found);
  }

  /** Whether a promotion out of `environment` needs a verified release. */
  async required(environment: string): Promise<boolean> {
    return (await this.checks.get(environment)) !== undefined;
  }

  /** In the transaction that records `release`: its verification begins, where the environment has checks. */
  async begin(tx: Kysely<Database>, release: Release, operation: Operation, now = Date.now()): Promise<void> {
    for (const running of await this.verifications.running(release.environment, tx)) await this.supersede(tx, running, release);
    const stored = await this.checks.get(release.environment, tx);
    if (!stored) return;
    await this.verifications.begin(tx, {
      releaseId: release.id, environment: release.environment, releaseNumber: release.number,
      plan: { spec: stored.spec, images: Object.values(release.images), configVersion: release.configVersion },
      progress: emptyProgress(stored.spec), mayRollBack: !operation.spec.rollback?.automatic,
      startedAt: now, bakeUntil: now + stored.spec.bakeSeconds * 1000,
    });
    await this.releases.setVerification(tx, release.id, 'verifying');
    await this.outbox.append(tx, {
      kind: 'release.verifying', environment: release.environment, operationId: operation.id,
      payload: { releaseId: release.id, number: release.number, bakeUntil: new Date(now + stored.spec.bakeSeconds * 1000).toISOString() },
    });
  }

  private async supersede(tx: Kysely<Database>, running: Verification, by: Release): Promise<void> {
    const reason = `release ${by.number} replaced it before its verification ended`;
    if (!(await this.verifications.finish(tx, running.releaseId, { status: 'inconclusive', reason }))) return;
    await this.releases.setVerification(tx, running.releaseId, 'inconclusive');
    await this.outbox.append(tx, {
      kind: 'release.verification_ended', environment: running.environment, operationId: null,
      payload: { releaseId: running.releaseId, number: running.releaseNumber, status: 'inconclusive', reason, rollback: null },
    });
  }

  private action(name: string, environment: string): Action {
    return { name, target: `environment:${environment}`, environment, permission: 'admin' };
  }
}
