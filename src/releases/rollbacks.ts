// Rollback: an update that runs an earlier release again, exactly: its program from its
// snapshot, and a new configuration version equal to its own (authored `rollback`). Approval
// rules apply; where the policy allows it, an admin with a second factor may roll back at
// once, which the audit trail records as an emergency. When it succeeds, the release it rolled
// away from becomes `rolled_back`.
import type { Kysely } from 'kysely';
import type { Actor } from '../auth/actor.js';
import type { Action, Governance } from '../auth/governance.js';
import { allows } from '../auth/roles.js';
import type { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { ConflictError, ForbiddenError } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import type { OperationService } from '../operations/operation-service.js';
import type { OutboxRepository } from '../store/outbox-repository.js';
import type { Release } from '../store/release-repository.js';
import type { Database } from '../store/schema.js';
import type { ConfigVersions } from './config-versions.js';
import type { ProgramSnapshots } from './program-snapshots.js';
import type { ReleasePolicy } from './release-policy.js';
import type { Releases } from './releases.js';

export interface RollbackRequest {
  /** A release id, or "previous": the newest earlier release that was not rolled back. */
  release: string;
  message?: string;
  /** Skip approval (admin with a second factor, where the policy allows it). */
  emergency?: boolean;
  /** Run now whatever the maintenance window says (an admin with a second factor, with a reason). */
  bypassWindow?: { reason?: string };
  /**
   * Asked by the verifier for a release that failed verification: why (the operation and the
   * `rollback.triggered` event carry it), and what commits with the queued rollback.
   */
  automatic?: { failed: Release; reason: string; commit: (tx: Kysely<Database>, rollback: Operation) => Promise<void> };
}

export class Rollbacks {
  constructor(
    private readonly releases: Releases,
    private readonly versions: ConfigVersions,
    private readonly programs: ProgramSnapshots,
    private readonly operations: OperationService,
    private readonly catalog: EnvironmentCatalog,
    private readonly governance: Governance,
    private readonly policy: ReleasePolicy,
    private readonly outbox: OutboxRepository,
  ) {}

  async rollback(actor: Actor, environment: string, request: RollbackRequest): Promise<Operation> {
    const emergency = request.emergency === true;
    const action: Action = {
      name: emergency ? 'emergencyRollback' : 'rollback', target: `environment:${environment}`, environment,
      permission: 'operate', secondFactor: emergency,
    };
    await this.governance.authorize(actor, action);
    this.catalog.require(environment);
    const refuse = async (error: ConflictError | ForbiddenError): Promise<never> => { throw await this.governance.refuse(actor, action, error); };
    if (emergency && !this.policy.allowsEmergencyRollback(environment)) {
      await refuse(new ForbiddenError('emergency_not_allowed', `${environment}'s policy does not allow emergency rollbacks: roll back with approval`));
    }
    if (emergency && !allows(actor.grants, 'admin', environment)) {
      await refuse(new ForbiddenError('emergency_not_allowed', `an emergency rollback of ${environment} needs an admin of ${environment}`));
    }
    await this.versions.importFile(environment);
    const current = await this.releases.current(environment);
    const target = await this.target(environment, request.release, current);
    if (current && target.id === current.id) await refuse(new ConflictError('release_is_current', `release ${target.number} is ${environment}'s current release already`));
    this.programs.require(target.programDigest);
    const config = await this.versions.version(environment, target.configVersion);
    const automatic = request.automatic;
    const operation = await this.governance.act(actor, action, async (tx) => {
      const latest = await this.versions.latest(environment, tx);
      const version = await this.versions.create(tx, environment, latest, {
        config: () => config.config, message: request.message ?? `rollback to release ${target.number}`,
      }, 'rollback');
      const queued = await this.operations.queue(tx, actor, environment, {
        type: 'update', spec: { scope: 'all', rollback: { to: target.id, from: current?.id ?? null, emergency, ...(automatic ? { automatic: { reason: automatic.reason } } : {}) } },
        configVersion: version.version, programDigest: target.programDigest, message: request.message ?? `rollback to release ${target.number}`,
        bypassWindow: request.bypassWindow,
      });
      await this.outbox.append(tx, {
        kind: 'rollback.queued', environment, operationId: queued.id,
        payload: { releaseId: target.id, number: target.number, from: current ? { releaseId: current.id, number: current.number } : null, emergency, requestedBy: actor.principal },
      });
      if (automatic) {
        await this.outbox.append(tx, {
          kind: 'rollback.triggered', environment, operationId: queued.id,
          payload: { releaseId: automatic.failed.id, number: automatic.failed.number, to: { releaseId: target.id, number: target.number }, reason: automatic.reason },
        });
        await automatic.commit(tx, queued);
      }
      return queued;
    });
    this.operations.kick();
    return operation;
  }

  private async target(environment: string, release: string, current: Release | undefined): Promise<Release> {
    if (release !== 'previous') return this.releases.find(environment, release);
    const previous = current && (await this.releases.previous(environment, current.number));
    if (!previous) throw new ConflictError('no_previous_release', `${environment} has no earlier release to roll back to`);
    return previous;
  }
}
