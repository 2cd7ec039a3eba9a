// Approving or rejecting a saved plan. The approver needs the `approve` permission on the
// environment, must not be the person who asked for the change (two credentials of one
// principal are one person), and on some environments (production by default) needs a
// session opened with a one-time code. Once enough people approve, the operation is queued
// again to apply its plan; one rejection ends it; a plan nobody decides on in time expires.
// Every refusal is audited.
import type { Kysely } from 'kysely';
import type { Actor } from '../auth/actor.js';
import { systemActor } from '../auth/actor.js';
import type { Action, Governance } from '../auth/governance.js';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import type { OperationSignals } from '../operations/operation-signals.js';
import { isUniqueViolation, type OperationRepository } from '../store/operation-repository.js';
import type { OutboxRepository } from '../store/outbox-repository.js';
import type { Database } from '../store/schema.js';
import type { ReleasePolicy } from './release-policy.js';

export type Decision = 'approve' | 'reject';

export class Approvals {
  private readonly system = systemActor('approvals');

  constructor(
    private readonly operations: OperationRepository,
    private readonly governance: Governance,
    private readonly policy: ReleasePolicy,
    private readonly outbox: OutboxRepository,
    private readonly signals: OperationSignals,
    private readonly kick: () => void,
  ) {}

  async decide(actor: Actor, id: string, decision: Decision, comment?: string): Promise<Operation> {
    const notFound = () => new NotFoundError('operation_not_found', `no operation with id ${id}`);
    const operation = await this.operations.get(id);
    if (!operation) throw notFound();
    const { environment } = operation;
    const action: Action = {
      name: decision === 'approve' ? 'approveOperation' : 'rejectOperation', target: `operation:${id}`, environment,
      permission: 'approve', secondFactor: this.policy.approvalNeedsSecondFactor(environment), hidden: notFound,
    };
    await this.governance.authorize(actor, action);
    const refuse = async (error: ForbiddenError | ConflictError | InvalidInputError): Promise<never> => { throw await this.governance.refuse(actor, action, error); };
    if (operation.requestedBy === actor.principal) {
      await refuse(new ForbiddenError('approver_is_requester', `${actor.principal} asked for this change and cannot also ${decision} it: another person must`));
    }
    if (operation.status === 'expired') {
      await refuse(new ConflictError('approval_expired', `the plan of operation ${id} expired at ${operation.plan?.expiresAt}: queue the change again`));
    }
    if (operation.status !== 'awaiting_approval') {
      await refuse(new InvalidInputError('not_awaiting_approval', `operation ${id} is ${operation.status}, not awaiting approval`, { operationStatus: operation.status }));
    }
    if (Date.parse(operation.plan!.expiresAt) <= Date.now()) {
      await this.expire(operation).catch(() => undefined);
      await refuse(new ConflictError('approval_expired', `the plan of operation ${id} expired at ${operation.plan!.expiresAt}: queue the change again`));
    }
    let decided: Operation;
    try {
      decided = await this.governance.act(actor, action, (tx) => this.record(tx, actor, operation, decision, comment));
    } catch (error) {
      if (isUniqueViolation(error)) return refuse(new ConflictError('already_decided', `${actor.principal} has already decided on operation ${id}`));
      throw error;
    }
    this.signals.notify(id);
    if (decided.status === 'queued') this.kick();
    return decided;
  }

  private async record(tx: Kysely<Database>, actor: Actor, operation: Operation, decision: Decision, comment?: string): Promise<Operation> {
    const now = Date.now();
    await tx.insertInto('approvals').values({
      operation_id: operation.id, principal: actor.principal, credential_id: actor.credentialId, decision, comment: comment ?? null, created_at: now,
    }).execute();
    const plan = { ...operation.plan!, approvals: [...operation.plan!.approvals, { principal: actor.principal, decision, comment: comment ?? null, at: new Date(now).toISOString() }] };
    await this.operations.updatePlan(tx, operation.id, plan);
    const approvals = plan.approvals.filter((a) => a.decision === 'approve').length;
    const announce = (to: Operation) => this.outbox.append(tx, {
      kind: 'approval.decided', environment: operation.environment, operationId: operation.id,
      payload: { decision: decision === 'approve' ? 'approved' : 'rejected', decidedBy: actor.principal, comment: comment ?? null, approvals, approvalsNeeded: plan.approvalsNeeded, status: to.status },
    }, now);
    if (decision === 'reject') {
      return this.operations.transition(operation.id, {
        from: 'awaiting_approval', to: 'rejected', now,
        set: { error: `rejected by ${actor.principal}${comment ? `: ${comment}` : ''}`, error_code: 'rejected' }, also: (_, to) => announce(to),
      }, tx);
    }
    if (approvals < plan.approvalsNeeded) {
      await announce(operation);
      return (await this.operations.get(operation.id, tx))!;
    }
    return this.operations.transition(operation.id, { from: 'awaiting_approval', to: 'queued', now, also: (_, to) => announce(to) }, tx);
  }

  /** Expires plans that waited longer than the policy allows. */
  async sweep(now = Date.now()): Promise<void> {
    for (const operation of await this.operations.awaitingSince(now - this.policy.approvalTtlMs)) await this.expire(operation).catch(() => undefined);
  }

  private async expire(operation: Operation): Promise<void> {
    await this.governance.act(this.system, { name: 'expireApproval', target: `operation:${operation.id}`, environment: operation.environment, permission: 'read' }, (tx) =>
      this.operations.transition(operation.id, {
        from: 'awaiting_approval', to: 'expired',
        set: { error: `nobody approved the plan before ${operation.plan?.expiresAt}: queue the change again`, error_code: 'approval_expired' },
        also: (db) => this.outbox.append(db, { kind: 'approval.expired', environment: operation.environment, operationId: operation.id, payload: { expiresAt: operation.plan?.expiresAt } }),
      }, tx));
    this.signals.notify(operation.id);
    this.kick();
  }
}
