// Access administration as the domain does it: API keys, second factors, sessions and the
// audit trail, each action decided and recorded by governance. A credential grants only what
// it holds, manages only keys within its reach, reads only the audit records of what it
// administers; wrong one-time codes count toward a lockout like wrong credentials.
import { DomainError, ForbiddenError, UnauthorizedError, UnavailableError } from '../errors.js';
import type { Actor } from './actor.js';
import { KEY_PATTERN, MAX_KEY_DAYS, type ApiKey, type ApiKeys, type NewKey } from './api-keys.js';
import type { AuditFilter } from './audit-trail.js';
import type { Action, Governance } from './governance.js';
import { administeredEnvironments, administersAll, administersEverything, firstUngrantable } from './grant-rules.js';
import { byPrincipal, bySource, type Lockout } from './lockout.js';
import type { OidcVerifier } from './oidc.js';
import { hasRole, type Grant } from './roles.js';
import type { SessionPolicy, Sessions } from './sessions.js';
import type { Totp } from './totp.js';

/** The bootstrap admin: everything, production named explicitly. */
export const ADMIN_GRANTS: Grant[] = [{ role: 'admin', environments: '*' }, { role: 'admin', environments: ['production'] }];
export const BOOTSTRAP_PRINCIPAL = 'bootstrap-admin';

const administer = (name: string, target: string): Action => ({ name, target, permission: 'admin', secondFactor: true });
const describe = (grant: Grant) => `${grant.role} on ${grant.environments === '*' ? '"*"' : grant.environments.join(', ')}`;

export class AccessService {
  private anyCredential = false;

  constructor(
    private readonly governance: Governance,
    private readonly keys: ApiKeys,
    private readonly totp: Totp,
    private readonly sessions: Sessions,
    private readonly oidc: OidcVerifier,
    private readonly lockout: Lockout,
    private readonly policy: { session: SessionPolicy; bootstrapAdminKey?: string; environments: readonly string[] },
  ) {}

  /**
   * Installs STACKPILOT_BOOTSTRAP_ADMIN_KEY as an admin key, once; a bootstrap key installed
   * before and no longer configured is revoked, so changing the variable retires the old key.
   */
  async bootstrap(): Promise<void> {
    const token = this.policy.bootstrapAdminKey;
    if (!token) return;
    if (!KEY_PATTERN.test(token)) throw new Error('STACKPILOT_BOOTSTRAP_ADMIN_KEY is not an API key (sp_<12 chars>_<43 chars>): make one with `npm run create-admin-key -- --print-only`');
    if (!(await this.keys.existsWithToken(token))) {
      try {
        await this.keys.create({ name: 'bootstrap admin', principal: BOOTSTRAP_PRINCIPAL, grants: ADMIN_GRANTS, expiresInDays: MAX_KEY_DAYS }, { token, bootstrap: true });
      } catch (error) {
        if (!(await this.keys.existsWithToken(token))) throw error; // another replica installed it first
      }
    }
    await this.keys.revokeBootstrapKeysExcept(token);
  }

  /** Fail closed: with no key and no OIDC issuer, nothing can be authorised, so nothing is served. */
  async requireSomeCredential(): Promise<void> {
    if (this.anyCredential) return;
    this.anyCredential = this.oidc.configured || (await this.keys.count()) > 0;
    if (!this.anyCredential) {
      throw new UnavailableError('no_credentials_configured', 'no credential is configured: set STACKPILOT_BOOTSTRAP_ADMIN_KEY, run `npm run create-admin-key`, or configure STACKPILOT_OIDC_ISSUERS');
    }
  }

  /** A credential grants only what it holds; a key made for another principal gets a second factor of its own. */
  async createKey(actor: Actor, input: NewKey) {
    const action = administer('createKey', `keys:${input.principal}`);
    await this.governance.authorize(actor, action);
    const excess = firstUngrantable(actor.grants, input.grants);
    if (excess) {
      throw await this.governance.refuse(actor, action, new ForbiddenError('grant_exceeds_own',
        `${actor.principal} may not grant ${describe(excess)}: a credential grants only roles and environments it holds itself, production only when it holds production by name`));
    }
    const secondFactor = input.principal === actor.principal && actor.factor ? { inherit: actor.factor } : 'own' as const;
    return this.governance.act(actor, action, (tx) => this.keys.create(input, { db: tx, secondFactor }));
  }

  /** The keys the actor may manage: those whose every environment it administers. */
  async listKeys(actor: Actor): Promise<ApiKey[]> {
    await this.governance.authorize(actor, administer('listKeys', 'keys'));
    return (await this.keys.list()).filter((key) => administersAll(actor.grants, key.grants));
  }

  /** A key may rotate itself (so CI can swap its own secret); any other rotation is an admin's, within reach. */
  async rotateKey(actor: Actor, id: string, graceHours: number) {
    const action = actor.keyId === id
      ? { name: 'rotateKey', target: `key:${id}`, permission: 'authenticated' as const }
      : administer('rotateKey', `key:${id}`);
    if (actor.keyId !== id) await this.requireReach(actor, action, id);
    return this.governance.act(actor, action, (tx) => this.keys.rotate(id, graceHours, tx));
  }

  async revokeKey(actor: Actor, id: string) {
    const action = administer('revokeKey', `key:${id}`);
    await this.requireReach(actor, action, id);
    return this.governance.act(actor, action, (tx) => this.keys.revoke(id, tx));
  }

  async enrolTotp(actor: Actor) {
    const action = await this.adminKeyAction(actor, 'enrolTotp');
    return this.governance.act(actor, action, (tx) => this.totp.enrol(actor.factor!, tx));
  }

  async confirmTotp(actor: Actor, code: string) {
    const action = await this.adminKeyAction(actor, 'confirmTotp');
    await this.withCodeLockout(actor, action, () => this.governance.act(actor, action, (tx) => this.totp.confirm(actor.factor!, code, tx)));
  }

  async openSession(actor: Actor, code: string) {
    const action = await this.adminKeyAction(actor, 'createSession');
    const opened = await this.withCodeLockout(actor, action, () => this.governance.act(actor, action, async (tx) => {
      await this.totp.verify(actor.factor!, code, tx);
      return this.sessions.open(actor.principal, actor.keyId!, tx);
    }));
    return { ...opened, idleTimeoutSeconds: this.policy.session.idleSeconds };
  }

  /**
   * The dashboard's sign-in: any API key opens a session (its cookie then carries the session,
   * never the key); with a TOTP code it is the same second-factor session as POST /v1/sessions.
   */
  async openDashboardSession(actor: Actor, code?: string) {
    if (code !== undefined) return this.openSession(actor, code);
    const action: Action = { name: 'openDashboardSession', target: 'session', permission: 'authenticated' };
    if (actor.kind !== 'key' || !actor.keyId) {
      throw await this.governance.refuse(actor, action, new ForbiddenError('api_key_required', 'sign in to the dashboard with an API key'));
    }
    const opened = await this.governance.act(actor, action, (tx) => this.sessions.open(actor.principal, actor.keyId!, tx, Date.now(), false));
    return { ...opened, idleTimeoutSeconds: this.policy.session.idleSeconds };
  }

  async closeSession(actor: Actor) {
    const action: Action = { name: 'closeSession', target: 'session', permission: 'authenticated' };
    if (!actor.sessionId) throw await this.governance.refuse(actor, action, new ForbiddenError('not_a_session', 'this credential is not a session'));
    await this.governance.act(actor, action, (tx) => this.sessions.close(actor.sessionId!, tx));
  }

  /** Admins of everything read every record; an environment's admins, the records of the environments they administer. */
  async listAudit(actor: Actor, filter: AuditFilter, limit: number, cursor?: string) {
    await this.governance.authorize(actor, administer('listAudit', 'audit'));
    const environments = administersEverything(actor.grants) ? undefined : administeredEnvironments(actor.grants, this.policy.environments);
    return this.governance.audit.list({ ...filter, environments }, limit, cursor);
  }

  /** The chain check reads every record: an admin of everything's. */
  async verifyAudit(actor: Actor) {
    const action = administer('verifyAudit', 'audit');
    await this.governance.authorize(actor, action);
    if (!administersEverything(actor.grants)) {
      throw await this.governance.refuse(actor, action, new ForbiddenError('forbidden', 'checking the whole audit trail needs admin over every environment, production by name'));
    }
    return this.governance.audit.verify();
  }

  /** Managing another's key needs admin over every environment that key reaches. */
  private async requireReach(actor: Actor, action: Action, id: string): Promise<void> {
    await this.governance.authorize(actor, action);
    const key = await this.keys.get(id);
    if (key && !administersAll(actor.grants, key.grants)) {
      throw await this.governance.refuse(actor, action, new ForbiddenError('key_out_of_reach',
        `${actor.principal} does not administer every environment key ${id} reaches`));
    }
  }

  /** Wrong one-time codes count toward the lockout of the source and of the factor's principal. */
  private async withCodeLockout<T>(actor: Actor, action: Action, attempt: () => Promise<T>): Promise<T> {
    const subjects = [bySource(actor.source), byPrincipal(actor.factor!)];
    try {
      await this.lockout.check(subjects);
    } catch (error) {
      if (error instanceof DomainError) throw await this.governance.refuse(actor, action, error);
      throw error;
    }
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof UnauthorizedError && error.code.startsWith('totp_')) await this.lockout.recordFailure(subjects);
      throw error;
    }
  }

  /** Second factors and sessions belong to API keys with an admin or approver grant (approvals on production need one). */
  private async adminKeyAction(actor: Actor, name: string): Promise<Action> {
    const action: Action = { name, target: 'session', permission: 'authenticated' };
    if (actor.kind !== 'key' || !(hasRole(actor.grants, 'admin') || hasRole(actor.grants, 'approver')) || !actor.factor) {
      throw await this.governance.refuse(actor, action, new ForbiddenError('admin_key_required', 'second factors and sessions belong to API keys with an admin or approver grant'));
    }
    return action;
  }
}


