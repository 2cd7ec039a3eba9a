// Drift checks: a read-only operation of kind `drift_check` (a refresh preview) that says
// whether the stack's resources still are what its state says. Queued on demand or by an
// environment's cron schedule (claimed in the database, so with several replicas it is queued
// once); it waits in the stack's FIFO like a preview, never behind a plan awaiting approval.
// Its result is kept per environment; a drift writes `drift.detected` to the outbox and, where
// the schedule says so, queues an update with --refresh (under the approval rules) to remediate.
import { parseCron } from '../calendar/cron-expression.js';
import type { Kysely } from 'kysely';
import type { Actor } from '../auth/actor.js';
import { systemActor } from '../auth/actor.js';
import type { Action, Governance } from '../auth/governance.js';
import type { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { kindOf } from '../operations/operation-kinds.js';
import type { OperationService } from '../operations/operation-service.js';
import type { Operation, OperationSpec, OperationType, PlanView } from '../operations/operation.js';
import type { ConfigVersions } from '../releases/config-versions.js';
import type { ProgramSnapshots } from '../releases/program-snapshots.js';
import type { DriftRepository, DriftSchedule, DriftState, DriftedResource } from '../store/drift-repository.js';
import type { OutboxRepository } from '../store/outbox-repository.js';
import type { Database } from '../store/schema.js';

/** Who queues scheduled checks and remediations. */
const SCHEDULER = systemActor('drift-schedule');

export interface ScheduleRequest {
  cron: string;
  remediate?: boolean;
}

export class DriftChecks {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly drift: DriftRepository,
    private readonly catalog: EnvironmentCatalog,
    private readonly governance: Governance,
    private readonly operations: OperationService,
    private readonly versions: ConfigVersions,
    private readonly programs: ProgramSnapshots,
    private readonly outbox: OutboxRepository,
  ) {}

  /** Queues a drift check now. */
  async request(actor: Actor, environment: string): Promise<Operation> {
    const kind = kindOf('drift_check');
    const action: Action = { name: 'checkDrift', target: `environment:${environment}`, environment, permission: kind.permission, secondFactor: kind.secondFactor };
    await this.governance.authorize(actor, action);
    this.catalog.require(environment);
    const operation = await this.governance.act(actor, action, (tx) => this.queue(tx, actor, environment, 'drift_check', { scope: 'all' }));
    this.operations.kick();
    return operation;
  }

  /** The environment's last drift check and its schedule. */
  async view(actor: Actor, environment: string): Promise<{ drift: DriftState | null; schedule: DriftSchedule | null }> {
    await this.governance.authorize(actor, { name: 'getDrift', target: `environment:${environment}`, environment, permission: 'read' });
    this.catalog.require(environment);
    return { drift: (await this.drift.state(environment)) ?? null, schedule: (await this.drift.schedule(environment)) ?? null };
  }

  /** The last drift check's result, for the environment's status. */
  async state(environment: string): Promise<DriftState | null> {
    return (await this.drift.state(environment)) ?? null;
  }

  async setSchedule(actor: Actor, environment: string, request: ScheduleRequest): Promise<DriftSchedule> {
    const action: Action = { name: 'scheduleDriftChecks', target: `environment:${environment}`, environment, permission: 'operate' };
    await this.governance.authorize(actor, action);
    this.catalog.require(environment);
    const next = nextRun(request.cron, Date.now());
    await this.governance.act(actor, action, (tx) => this.drift.saveSchedule(tx, {
      environment, cron: request.cron, remediate: request.remediate ?? false, nextDueAt: next, updatedBy: actor.principal,
    }));
    return (await this.drift.schedule(environment))!;
  }

  async deleteSchedule(actor: Actor, environment: string): Promise<void> {
    const action: Action = { name: 'unscheduleDriftChecks', target: `environment:${environment}`, environment, permission: 'operate' };
    await this.governance.authorize(actor, action);
    this.catalog.require(environment);
    await this.governance.act(actor, action, async (tx) => {
      if (!(await this.drift.deleteSchedule(tx, environment))) throw new NotFoundError('drift_schedule_not_found', `environment ${environment} has no drift schedule`);
    });
  }

  /** Queues every check that is due; a replica that loses the claim to another queues nothing. */
  async sweep(now = Date.now()): Promise<Operation[]> {
    const queued: Operation[] = [];
    for (const due of await this.drift.due(now)) {
      if (!this.catalog.has(due.environment)) continue;
      const operation = await this.db.transaction().execute(async (tx) => {
        if (!(await this.drift.claim(tx, due.environment, due.dueAt, nextRun(due.cron, now)))) return undefined;
        await this.governance.recordSystem(SCHEDULER, { name: 'checkDrift', target: `environment:${due.environment}`, environment: due.environment }, tx);
        return this.queue(tx, SCHEDULER, due.environment, 'drift_check', { scope: 'all' });
      });
      if (operation) queued.push(operation);
    }
    if (queued.length) this.operations.kick();
    return queued;
  }

  /** In the transaction that ends a drift check: its result, the event, and the remediation its schedule asks for. */
  async recorded(tx: Kysely<Database>, operation: Operation, changes: PlanView['changes']): Promise<void> {
    // An engine may report a resource in its pre and its outputs event: one entry per resource.
    const byUrn = new Map(changes.map((c) => [c.urn, { urn: c.urn, type: c.type, change: c.op }]));
    const resources: DriftedResource[] = [...byUrn.values()];
    const status = operation.status !== 'succeeded' ? 'failed' : resources.length ? 'drifted' : 'in_sync';
    await this.drift.record(tx, operation.environment, { status, operationId: operation.id, resources });
    if (status !== 'drifted') return;
    const schedule = await this.drift.schedule(operation.environment, tx);
    const remediation = schedule?.remediate
      ? await this.queue(tx, SCHEDULER, operation.environment, 'update', { scope: 'all', refresh: true, remediates: operation.id })
      : undefined;
    if (remediation) await this.governance.recordSystem(SCHEDULER, { name: 'remediateDrift', target: `environment:${operation.environment}`, environment: operation.environment }, tx);
    await this.outbox.append(tx, {
      kind: 'drift.detected', environment: operation.environment, operationId: operation.id,
      payload: { resources, remediation: remediation?.id ?? null },
    });
  }

  private async queue(tx: Kysely<Database>, actor: Actor, environment: string, type: OperationType, spec: OperationSpec): Promise<Operation> {
    const latest = await this.versions.latest(environment, tx);
    return this.operations.queue(tx, actor, environment, { type, spec, configVersion: latest.version, programDigest: this.programs.current() });
  }
}

/** The next time after `now` that `cron` names; a 400 naming the field when it names none. */
export function nextRun(cron: string, now: number): number {
  const next = parseCron(cron, { field: 'cron' }).nextRun(new Date(now));
  if (!next) throw new InvalidInputError('invalid_cron', 'cron names no time in the future', { field: 'cron' });
  return next.getTime();
}
