// The domain's gate: every action an actor asks for is decided here and recorded in the audit
// trail. A refusal is audited, then thrown. An allowed change runs in one transaction with its
// audit record, so nothing takes effect that is not on record, and a record that cannot be
// written stops the change. Without read access to an environment an actor learns nothing,
// not even that it exists: the answer is the same 404 as for an unknown one.
import type { Kysely } from 'kysely';
import { DomainError, ForbiddenError, NotFoundError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { Actor } from './actor.js';
import type { AuditTrail } from './audit-trail.js';
import { allows, type Permission } from './roles.js';

/** What is being done, as the audit trail names it: the API operation and the resource acted on. */
export interface Action {
  name: string;
  target: string;
  permission: Permission;
  /** The environment the action acts on: decides the grants that count, and 404 hiding. */
  environment?: string;
  /** A second factor (a session opened with a TOTP code) is needed. */
  secondFactor?: boolean;
  /** What a caller who cannot see the environment is told instead (default: environment_not_found). */
  hidden?: () => NotFoundError;
}

/** Errors a change can meet that refuse the actor (a wrong one-time code...) rather than fail the change. */
const REFUSALS = new Set([401, 403, 429]);

export class Governance {
  constructor(private readonly db: Kysely<Database>, readonly audit: AuditTrail) {}

  canRead(actor: Actor, environment: string): boolean {
    return allows(actor.grants, 'read', environment);
  }

  /** The refusal an action would meet, or undefined when it is allowed. */
  refusal(actor: Actor, action: Action): DomainError | undefined {
    const { environment, permission } = action;
    if (environment !== undefined && !allows(actor.grants, 'read', environment)) {
      return action.hidden?.() ?? new NotFoundError('environment_not_found', `no environment named ${JSON.stringify(environment)}`);
    }
    if (!allows(actor.grants, permission, environment)) {
      return new ForbiddenError('forbidden', `${actor.principal} may not ${permission}${environment ? ` ${environment}` : ''}`);
    }
    if (action.secondFactor && !actor.secondFactor) {
      return new ForbiddenError('second_factor_required', `${action.name} needs a session opened with a one-time code: POST /v1/sessions`);
    }
    return undefined;
  }

  /** Decides a read (or any action that changes nothing): a refusal is audited and thrown. */
  async authorize(actor: Actor, action: Action): Promise<void> {
    const refused = this.refusal(actor, action);
    if (refused) throw await this.refuse(actor, action, refused);
  }

  /** Records a refusal the caller decided on; returns it to throw. */
  async refuse(actor: Actor, action: Pick<Action, 'name' | 'target' | 'environment'>, error: DomainError): Promise<DomainError> {
    await this.record(actor, action, 'refused', error);
    return error;
  }

  /**
   * Runs a change: decided first, then `change` and its audit record commit together. A
   * domain error from `change` is audited as a failure and thrown.
   */
  async act<T>(actor: Actor, action: Action, change: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
    await this.authorize(actor, action);
    try {
      return await this.db.transaction().execute(async (tx) => {
        const result = await change(tx);
        await this.audit.append(entry(actor, action, 'allowed', null), tx);
        return result;
      });
    } catch (error) {
      if (error instanceof DomainError) await this.record(actor, action, REFUSALS.has(error.status) ? 'refused' : 'failed', error);
      throw error;
    }
  }

  /** Records what the service did on its own (recovery, schedules), in the caller's transaction if given. */
  recordSystem(actor: Actor, action: Pick<Action, 'name' | 'target' | 'environment'>, tx?: Kysely<Database>): Promise<void> {
    return this.audit.append(entry(actor, action, 'allowed', null), tx);
  }

  /**
   * Records an allowed action together with the reason its actor gave for it (an emergency
   * bypass of a maintenance window), in the transaction that makes it take effect.
   */
  recordWithReason(actor: Actor, action: Pick<Action, 'name' | 'target' | 'environment'>, reason: string, tx: Kysely<Database>): Promise<void> {
    return this.audit.append(entry(actor, action, 'allowed', reason), tx);
  }

  private record(actor: Actor, action: Pick<Action, 'name' | 'target' | 'environment'>, result: 'refused' | 'failed', error: DomainError): Promise<void> {
    return this.audit.append({ ...entry(actor, action, result, error.code), status: error.status });
  }
}

function entry(actor: Actor, action: Pick<Action, 'name' | 'target' | 'environment'>, result: 'allowed' | 'refused' | 'failed', reason: string | null) {
  return {
    principal: actor.principal, credentialId: actor.credentialId, source: actor.source, action: action.name, target: action.target,
    result, reason, status: null, environment: action.environment ?? null,
  };
}
