// The verifier: every replica runs one, and each tick it claims the running verifications no
// live lease holds (see VerificationRepository), takes the measurements that are due, records
// them with its lease renewed, and ends a verification once its checks decide:
// - verified: every check passed through the bake period;
// - failed_verification: a check failed past its limit. An automatic rollback to the last
//   verified release is queued as system:verifier (audited like anyone's rollback, approval
//   rules included), and `rollback.triggered` carries the reason, all in one transaction with
//   the verification's end, so a crash leaves either both or neither;
// - inconclusive: a check could not be measured past its limit. Nothing is rolled back.
// Everything it knows is in the database, so a replica that dies mid-bake is replaced by the
// next to claim its expired lease, which resumes from the recorded measurements.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { systemActor } from '../auth/actor.js';
import type { Governance } from '../auth/governance.js';
import type { Engine } from '../engine/types.js';
import type { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { DomainError } from '../errors.js';
import { CoalescedTask } from '../notifications/coalesced-task.js';
import { valueAt } from '../releases/config-path.js';
import type { ConfigVersions } from '../releases/config-versions.js';
import type { Rollbacks } from '../releases/rollbacks.js';
import type { OutboxRepository } from '../store/outbox-repository.js';
import type { Release, ReleaseRepository } from '../store/release-repository.js';
import type { Database } from '../store/schema.js';
import type { Verification, VerificationRepository } from '../store/verification-repository.js';
import { measureAlarms, type AlarmStates } from './cloudwatch-alarms.js';
import { KubernetesApi } from './kubernetes-api.js';
import { deploymentsOf, measureRollout } from './kubernetes-rollout.js';
import { measureQuery } from './prometheus-source.js';
import { dueChecks, judge, record, type Measurement, type Outcome } from './verification-progress.js';

export const VERIFIER = systemActor('verifier');

export interface VerifierOptions {
  owner: string;
  leaseMs: number;
  tickMs: number;
  /** The service's own kubeconfig (STACKPILOT_KUBECONFIG): the cluster of a stack with no `kubeconfig` setting. */
  kubeconfig?: string;
  prometheusUrl?: string;
}

export interface VerifierParts {
  db: Kysely<Database>;
  verifications: VerificationRepository;
  releases: ReleaseRepository;
  rollbacks: Rollbacks;
  versions: ConfigVersions;
  catalog: EnvironmentCatalog;
  engine: Engine;
  governance: Governance;
  outbox: OutboxRepository;
  alarms: AlarmStates;
}

export class Verifier {
  private readonly task: CoalescedTask;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly parts: VerifierParts, private readonly options: VerifierOptions, private readonly log: Logger) {
    this.task = new CoalescedTask(() => this.tick(), (error) => this.log.warn({ err: error }, 'verifier tick failed'));
  }

  start(): void {
    this.timer ??= setInterval(() => this.task.run(), this.options.tickMs);
    this.timer.unref();
    this.task.run();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.task.idle();
  }

  /** One pass: claim, measure what is due, decide. */
  async tick(now = Date.now()): Promise<void> {
    for (const verification of await this.parts.verifications.claim(this.options.owner, this.options.leaseMs, this.parts.catalog.names)) {
      const log = this.log.child({ environment: verification.environment, release: verification.releaseId });
      try {
        await this.advance(verification, now, log);
      } catch (error) {
        log.warn({ err: error }, 'could not advance a release verification');
      }
    }
  }

  private async advance(v: Verification, now: number, log: Logger): Promise<void> {
    let progress = v.progress;
    const plan = { ...v.plan };
    for (const key of dueChecks(plan.spec, progress, now)) {
      const measurement = await this.measure(v, plan, key);
      progress = record(progress, key, measurement, Date.now());
      log.debug({ check: key, measurement }, 'verification measurement');
      // Early outcomes (a failure past its limit) need no further measurement.
      if (judge(plan.spec, progress, Date.now(), v.bakeUntil).status !== 'verifying') break;
    }
    const outcome = judge(plan.spec, progress, Date.now(), v.bakeUntil);
    if (outcome.status === 'verifying') {
      if (!(await this.parts.verifications.progress(this.options.owner, this.options.leaseMs, v.releaseId, plan, progress))) log.info('another replica took this verification over');
      return;
    }
    await this.end(v, progress, outcome, log);
  }

  private async measure(v: Verification, plan: Verification['plan'], key: string): Promise<Measurement> {
    const spec = plan.spec;
    if (key === 'rollout') {
      let api: KubernetesApi;
      try {
        api = KubernetesApi.fromKubeconfig(await this.kubeconfig(v));
        plan.deployments ??= deploymentsOf(await this.parts.engine.exportState(v.environment));
      } catch (error) {
        return { error: (error as Error).message };
      }
      return measureRollout(api, plan.deployments, plan.images);
    }
    if (key === 'cloudwatch') return measureAlarms(this.parts.alarms, spec.cloudwatch!.region, spec.cloudwatch!.alarms);
    const query = spec.prometheus!.queries.find((q) => `query:${q.name}` === key)!;
    return measureQuery(spec.prometheus!.url ?? this.options.prometheusUrl!, query);
  }

  /** The stack's own `kubeconfig` setting (a path or the content, in plain text), or the service's. */
  private async kubeconfig(v: Verification): Promise<string> {
    const config = (await this.parts.versions.version(v.environment, v.plan.configVersion)).config;
    const own = valueAt(config, 'kubeconfig', this.parts.catalog.project);
    const kubeconfig = typeof own === 'string' && own ? own : this.options.kubeconfig;
    if (!kubeconfig) throw new Error(`no kubeconfig for ${v.environment}: set the stack's kubeconfig or STACKPILOT_KUBECONFIG`);
    return kubeconfig;
  }

  private async end(v: Verification, progress: Verification['progress'], outcome: Exclude<Outcome, { status: 'verifying' }>, log: Logger): Promise<void> {
    const release = await this.parts.releases.get(v.environment, v.releaseId);
    const target = outcome.status === 'failed_verification' && release ? await this.rollbackTarget(v, release) : undefined;
    if (release && typeof target === 'object') {
      const reason = `release ${v.releaseNumber} failed verification: ${outcome.reason}`;
      try {
        const rollback = await this.parts.rollbacks.rollback(VERIFIER, v.environment, {
          release: target.id, message: `automatic rollback to release ${target.number}: ${reason}`,
          // A failing release is an incident, not a planned change: its rollback never waits
          // for the maintenance window (the audit trail records the bypass with this reason).
          bypassWindow: { reason },
          automatic: { failed: release, reason, commit: (tx, op) => this.finish(tx, v, progress, { ...outcome, reason }, op.id) },
        });
        log.warn({ rollback: rollback.id, to: target.number, reason }, 'release failed verification: rolling back');
        return;
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        outcome = { ...outcome, reason: `${outcome.reason}; no rollback: ${error.message}` };
      }
    } else if (typeof target === 'string') {
      outcome = { ...outcome, reason: `${outcome.reason}; no rollback: ${target}` };
    }
    await this.parts.db.transaction().execute((tx) => this.finish(tx, v, progress, outcome, null));
    log.info({ status: outcome.status, reason: outcome.reason }, 'release verification ended');
  }

  /** The release to roll back to, or why there is none. */
  private async rollbackTarget(v: Verification, release: Release): Promise<Release | string> {
    if (!v.mayRollBack) return 'it was made by an automatic rollback, which is not rolled back in turn';
    const current = await this.parts.releases.current(v.environment);
    if (current?.id !== release.id) return `release ${current?.number ?? '?'} has replaced it`;
    return (await this.parts.releases.lastVerified(v.environment, v.releaseNumber)) ?? `${v.environment} has no verified release before it`;
  }

  /** Ends the verification in `tx` (only while this replica holds it: else the transaction is undone). */
  private async finish(tx: Kysely<Database>, v: Verification, progress: Verification['progress'], outcome: { status: Exclude<Outcome['status'], 'verifying'>; reason: string }, rollbackOperationId: string | null): Promise<void> {
    const ended = await this.parts.verifications.finish(tx, v.releaseId, { status: outcome.status, reason: outcome.reason, progress, rollbackOperationId, owner: this.options.owner });
    if (!ended) throw new LostVerification();
    await this.parts.releases.setVerification(tx, v.releaseId, outcome.status);
    await this.parts.governance.recordSystem(VERIFIER, { name: outcome.status === 'verified' ? 'verifyRelease' : 'failReleaseVerification', target: `release:${v.releaseId}`, environment: v.environment }, tx);
    await this.parts.outbox.append(tx, {
      kind: 'release.verification_ended', environment: v.environment, operationId: rollbackOperationId,
      payload: { releaseId: v.releaseId, number: v.releaseNumber, status: outcome.status, reason: outcome.reason, rollback: rollbackOperationId },
    });
  }
}

/** This replica's lease on a verification was taken over: what it was about to write is undone. */
class LostVerification extends Error {
  constructor() {
    super('the verification is no longer this replica\'s to end');
  }
}
