// Each environment's status as callers see it: whether an operation holds it and how many
// wait, its last operation, the locks its state backend really holds, and what its stack holds
// (resource count, outputs with secrets redacted) as of the last operations that learnt them,
// its current release, and the operation whose plan awaits approval.
import type { Actor } from '../auth/actor.js';
import type { Governance } from '../auth/governance.js';
import type { Engine, StackLock } from '../engine/types.js';
import type { Operation } from '../operations/operation.js';
import type { Releases } from '../releases/releases.js';
import type { OperationRepository } from '../store/operation-repository.js';
import type { Release } from '../store/release-repository.js';
import type { DriftState } from '../store/drift-repository.js';
import type { EnvironmentCatalog } from './environment-catalog.js';

export interface EnvironmentStatus {
  name: string;
  stack: string;
  project: string;
  status: 'idle' | 'running' | 'recovering' | 'awaiting_approval' | 'queued';
  lastOperation: Operation | null;
  /** The operation holding the stack in Stackpilot's queue. */
  holder: { operationId: string; requestedBy: string; since: string | null } | null;
  queueLength: number;
  /** The locks the state backend holds on the stack now; null when this backend's locks cannot be read. */
  locks: StackLock[] | null;
  resourceCount: number | null;
  outputs: Record<string, unknown> | null;
  currentRelease: Release | null;
  /** The operation whose saved plan waits for approval (it holds the stack against other changes). */
  awaitingApproval: string | null;
  /** The last drift check's result; null before the first. */
  drift: DriftState | null;
}

export class EnvironmentStatusView {
  constructor(
    private readonly catalog: EnvironmentCatalog,
    private readonly operations: OperationRepository,
    private readonly engine: Engine,
    private readonly governance: Governance,
    private readonly releases: Releases,
    private readonly drift: { state(environment: string): Promise<DriftState | null> },
  ) {}

  /** Every environment the actor may read. */
  list(actor: Actor): Promise<EnvironmentStatus[]> {
    return Promise.all(this.catalog.names.filter((name) => this.governance.canRead(actor, name)).map((name) => this.status(name)));
  }

  async get(actor: Actor, name: string): Promise<EnvironmentStatus> {
    await this.governance.authorize(actor, { name: 'getEnvironment', target: `environment:${name}`, environment: name, permission: 'read' });
    return this.status(this.catalog.require(name));
  }

  private async status(name: string): Promise<EnvironmentStatus> {
    const [last, holder, queued, withOutputs, withCount, locks, currentRelease, awaiting, drift] = await Promise.all([
      this.operations.latest(name), this.operations.holder(name), this.operations.queuedCount(name),
      this.operations.latestWith(name, 'outputs'), this.operations.latestWith(name, 'resource_count'),
      this.engine.locks(name).catch(() => undefined), this.releases.current(name), this.operations.awaitingApproval(name),
      this.drift.state(name),
    ]);
    return {
      name,
      stack: name,
      project: this.catalog.project,
      status: holder ? (holder.status === 'recovering' ? 'recovering' : 'running') : awaiting ? 'awaiting_approval' : queued ? 'queued' : 'idle',
      lastOperation: last ?? null,
      holder: holder ? { operationId: holder.id, requestedBy: holder.requestedBy, since: holder.startedAt } : null,
      queueLength: queued,
      locks: locks ?? null,
      resourceCount: withCount?.resourceCount ?? null,
      outputs: withOutputs?.outputs ?? null,
      currentRelease: currentRelease ?? null,
      awaitingApproval: awaiting?.id ?? null,
      drift,
    };
  }
}
