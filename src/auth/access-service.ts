// Access administration as the domain does it: API keys, second factors, sessions and the
// audit trail, each action decided and recorded by governance. Built once in service.ts.
import { ForbiddenError, UnavailableError } from '../errors.js';
import type { Actor } from './actor.js';
import { KEY_PATTERN, MAX_KEY_DAYS, type ApiKeys, type NewKey } from './api-keys.js';
import type { AuditFilter } from './audit-trail.js';
import type { Action, Governance } from './governance.js';
import type { OidcVerifier } from './oidc.js';
import { hasRole, type Grant } from './roles.js';
import type { SessionPolicy, Sessions } from './sessions.js';
import type { Totp } from './totp.js';

/** The bootstrap admin: everything, production named explicitly. */
export const ADMIN_GRANTS: Grant[] = [{ role: 'admin', environments: '*' }, { role: 'admin', environments: ['production'] }];

const administer = (name: string, target: string): Action => ({ name, target, permission: 'admin', secondFactor: true });

export class AccessService {
  private anyCredential = false;

  constructor(
    private readonly governance: Governance,
    private readonly keys: ApiKeys,
    private readonly totp: Totp,
    private readonly sessions: Sessions,
    private readonly oidc: OidcVerifier,
    private readonly policy: { session: SessionPolicy; bootstrapAdminKey?: string },
  ) {}

  /** Installs STACKPILOT_BOOTSTRAP_ADMIN_KEY as an admin key, once. */
  async bootstrap(): Promise<void> {
    const token = this.policy.bootstrapAdminKey;
    if (!token) return;
    if (!KEY_PATTERN.test(token)) throw new Error('STACKPILOT_BOOTSTRAP_ADMIN_KEY is not an API key (sp_<12 chars>_<43 chars>): make one with `npm run create-admin-key -- --print-only`');
    if (await this.keys.existsWithToken(token)) return;
    try {
      await this.keys.create({ name: 'bootstrap admin', principal: 'bootstrap-admin', grants: ADMIN_GRANTS, expiresInDays: MAX_KEY_DAYS }, { token });
    } catch (error) {
      if (!(await this.keys.existsWithToken(token))) throw error; // another replica installed it first
    }
  }

  /** Fail closed: with no key and no OIDC issuer, nothing can be authorised, so nothing is served. */
  async requireSomeCredential(): Promise<void> {
    if (this.anyCredential) return;
    this.anyCredential = this.oidc.configured || (await this.keys.count()) > 0;
    if (!this.anyCredential) {
      throw new UnavailableError('no_credentials_configured', 'no credential is configured: set STACKPILOT_BOOTSTRAP_ADMIN_KEY, run `npm run create-admin-key`, or configure STACKPILOT_OIDC_ISSUERS');
    }
  }

  createKey(actor: Actor, input: NewKey) {
    return this.governance.act(actor, administer('createKey', 'keys'), (tx) => this.keys.create(input, { db: tx }));
  }

  async listKeys(actor: Actor) {
    await this.governance.authorize(actor, administer('listKeys', 'keys'));
    return this.keys.list();
  }

  /** A key may rotate itself (so CI can swap its own secret); any other rotation is an admin's. */
  rotateKey(actor: Actor, id: string, graceHours: number) {
    const action = actor.keyId === id
      ? { name: 'rotateKey', target: `key:${id}`, permission: 'authenticated' as const }
      : administer('rotateKey', `key:${id}`);
    return this.governance.act(actor, action, (tx) => this.keys.rotate(id, graceHours, tx));
  }

  revokeKey(actor: Actor, id: string) {
    return this.governance.act(actor, administer('revokeKey', `key:${id}`), (tx) => this.keys.revoke(id, tx));
  }

  async enrolTotp(actor: Actor) {
    const action = await this.adminKeyAction(actor, 'enrolTotp');
    return this.governance.act(actor, action, (tx) => this.totp.enrol(actor.principal, tx));
  }

  async confirmTotp(actor: Actor, code: string) {
    const action = await this.adminKeyAction(actor, 'confirmTotp');
    await this.governance.act(actor, action, (tx) => this.totp.confirm(actor.principal, code, tx));
  }

  async openSession(actor: Actor, code: string) {
    const action = await this.adminKeyAction(actor, 'createSession');
    const opened = await this.governance.act(actor, action, async (tx) => {
      await this.totp.verify(actor.principal, code, tx);
      return this.sessions.open(actor.principal, actor.keyId!, tx);
    });
    return { ...opened, idleTimeoutSeconds: this.policy.session.idleSeconds };
  }

  async closeSession(actor: Actor) {
    const action: Action = { name: 'closeSession', target: 'session', permission: 'authenticated' };
    if (!actor.sessionId) throw await this.governance.refuse(actor, action, new ForbiddenError('not_a_session', 'this credential is not a session'));
    await this.governance.act(actor, action, (tx) => this.sessions.close(actor.sessionId!, tx));
  }

  async listAudit(actor: Actor, filter: AuditFilter, limit: number, cursor?: string) {
    await this.governance.authorize(actor, administer('listAudit', 'audit'));
    return this.governance.audit.list(filter, limit, cursor);
  }

  async verifyAudit(actor: Actor) {
    await this.governance.authorize(actor, administer('verifyAudit', 'audit'));
    return this.governance.audit.verify();
  }

  /** Second factors and sessions belong to API keys with an admin grant. */
  private async adminKeyAction(actor: Actor, name: string): Promise<Action> {
    const action: Action = { name, target: 'session', permission: 'authenticated' };
    if (actor.kind !== 'key' || !hasRole(actor.grants, 'admin')) {
      throw await this.governance.refuse(actor, action, new ForbiddenError('admin_key_required', 'second factors and sessions belong to API keys with an admin grant'));
    }
    return action;
  }
}
