// What the runner needs from releases to run one operation: the configuration version and
// program snapshot it runs with, whether it plans, applies a saved plan or runs directly, the
// checks that refuse a stale plan before any engine starts, and what is written when it plans
// (the plan, for approval) or succeeds (a release).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Engine, EngineEvent, EngineFlags, EngineWorkspaceSource } from '../engine/types.js';
import type { ConfigVersions } from '../releases/config-versions.js';
import { RunRefusal, type ProgramSnapshots } from '../releases/program-snapshots.js';
import type { ReleasePolicy } from '../releases/release-policy.js';
import type { Releases } from '../releases/releases.js';
import type { HealthChecks } from '../verification/health-checks.js';
import type { OperationRepository } from '../store/operation-repository.js';
import type { OutboxRepository } from '../store/outbox-repository.js';
import type { Database } from '../store/schema.js';
import { kindOf } from './operation-kinds.js';
import type { ChangeSummary, Operation, PlanView } from './operation.js';

export interface ReleaseParts {
  versions: ConfigVersions;
  programs: ProgramSnapshots;
  releases: Releases;
  policy: ReleasePolicy;
  outbox: OutboxRepository;
  /** Where plan files are written while the CLI makes or applies them. */
  plansDir: string;
  /** Begins a new release's verification where its environment has health checks. */
  healthChecks: Pick<HealthChecks, 'begin'>;
}

/** direct: one run; plan: a preview saved for approval; apply: the approved plan. */
export type Phase = 'direct' | 'plan' | 'apply';

export class ReleaseSteps {
  constructor(private readonly parts: ReleaseParts, private readonly operations: OperationRepository, private readonly engine: Engine) {
    mkdirSync(parts.plansDir, { recursive: true, mode: 0o700 });
  }

  phaseOf(operation: Operation): Phase {
    const needsApproval = kindOf(operation.type).needsApproval
      && this.parts.policy.isProtected(operation.environment) && !operation.spec.rollback?.emergency;
    if (!needsApproval) return 'direct';
    return operation.plan ? 'apply' : 'plan';
  }

  /** The program and configuration the operation runs with; a RunRefusal when it cannot run as asked. */
  async source(operation: Operation): Promise<EngineWorkspaceSource> {
    const version = operation.configVersion === null
      ? await this.parts.versions.latest(operation.environment)
      : await this.parts.versions.version(operation.environment, operation.configVersion);
    const program = this.parts.programs.runnable(operation.programDigest ?? this.parts.programs.current(), { runsProgram: kindOf(operation.type).runsProgram });
    return { ...program, config: version.config, ...(version.encryptionSalt ? { encryptionSalt: version.encryptionSalt } : {}) };
  }

  planFile(operation: Operation): string {
    return join(this.parts.plansDir, `${operation.id}.json`);
  }

  /** The flags that make a plan (update: --save-plan; destroy: --preview-only) or apply one (--plan). */
  async flags(operation: Operation, phase: Phase, base: EngineFlags): Promise<EngineFlags> {
    if (phase === 'plan') return operation.type === 'update' ? { ...base, savePlan: this.planFile(operation) } : { ...base, previewOnly: true };
    if (phase === 'apply' && operation.type === 'update') {
      const content = await this.operations.planFile(operation.id);
      if (content === undefined) throw new RunRefusal('plan_stale', 'the saved plan of this operation is gone: queue the change again');
      writeFileSync(this.planFile(operation), content, { mode: 0o600 });
      return { ...base, plan: this.planFile(operation) };
    }
    return base;
  }

  /** sha256 of the stack's exported state: what a plan was made against. */
  async stateDigest(environment: string): Promise<string> {
    return createHash('sha256').update(await this.engine.exportState(environment)).digest('hex');
  }

  /**
   * Refuses to apply a plan whose ground moved: the stack's state, the environment's latest
   * configuration version or the program. Pulumi's own check finds a violation one resource
   * at a time, possibly after changing others; this one comes before anything runs.
   */
  async checkFresh(operation: Operation): Promise<void> {
    const plan = operation.plan!;
    const stale: string[] = [];
    const latest = await this.parts.versions.latest(operation.environment);
    if (latest.version !== plan.configVersion) stale.push(`the configuration is at version ${latest.version}, the plan was made with ${plan.configVersion}`);
    if ((await this.stateDigest(operation.environment)) !== plan.stateDigest) stale.push('the stack\'s state changed since the plan was made');
    if (stale.length) throw new RunRefusal('plan_stale', `the approved plan is stale, so nothing was applied: ${stale.join('; ')}. Queue the change again to plan it anew`);
  }

  /** The plan view an operation waits with; its plan file's content, for the database. */
  planned(operation: Operation, summary: ChangeSummary, changes: PlanView['changes'], stateDigest: string, now = Date.now()): { view: PlanView; file: string } {
    const file = this.planFile(operation);
    const content = existsSync(file) ? readFileSync(file, 'utf8') : '';
    rmSync(file, { force: true });
    return {
      file: content,
      view: {
        summary, changes, configVersion: operation.configVersion ?? 0, programDigest: operation.programDigest ?? '', stateDigest,
        plannedAt: new Date(now).toISOString(), approvals: [], approvalsNeeded: this.parts.policy.approvalsNeeded,
        expiresAt: new Date(now + this.parts.policy.approvalTtlMs).toISOString(),
      },
    };
  }

  /** Writes that commit with the operation's wait for approval. */
  async awaiting(tx: Kysely<Database>, operation: Operation, plan: { view: PlanView; file: string }): Promise<void> {
    if (plan.file) await this.operations.savePlanFile(tx, operation.id, plan.file);
    await this.parts.outbox.append(tx, {
      kind: 'approval.requested', environment: operation.environment, operationId: operation.id,
      payload: { type: operation.type, requestedBy: operation.requestedBy, summary: plan.view.summary, expiresAt: plan.view.expiresAt },
    });
  }

  /** Writes that commit with a succeeded operation: an update makes a release, whose verification begins. */
  async succeeded(tx: Kysely<Database>, operation: Operation): Promise<void> {
    if (operation.type !== 'update') return;
    const release = await this.parts.releases.record(tx, operation);
    await this.parts.healthChecks.begin(tx, release, operation);
  }

  removePlanFile(operation: Operation): void {
    rmSync(this.planFile(operation), { force: true });
  }
}

/** A resource the plan changes, from the engine's resourcePre event; undefined for one it leaves as it is. */
export function plannedChange(event: EngineEvent): PlanView['changes'][number] | undefined {
  if (event.type !== 'resourcePre') return undefined;
  const metadata = (event.payload as { metadata?: { op?: string; urn?: string; type?: string } } | null)?.metadata;
  if (!metadata?.urn || !metadata.op || metadata.op === 'same') return undefined;
  return { urn: metadata.urn, type: metadata.type ?? '', op: metadata.op };
}
