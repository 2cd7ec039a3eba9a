// Access control as the API uses it: authenticate a request's credential (counting failures
// toward a lockout), decide a permission on an environment, and manage keys, second factors
// and sessions. One object, built once in service.ts.
import type { Kysely } from 'kysely';
import { ForbiddenError, NotFoundError, TooManyRequestsError, UnavailableError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { DialectName } from '../store/migrations.js';
import { ApiKeyStore, KEY_PATTERN, MAX_KEY_DAYS, type ApiKey, type NewKey } from './api-keys.js';
import { AuditLog } from './audit-log.js';
import { Authenticator, type Principal } from './authenticator.js';
import { Lockout, type LockoutPolicy } from './lockout.js';
import { OidcVerifier, type OidcIssuer } from './oidc.js';
import { allows, hasRole, needsSecondFactor, type Grant, type Permission } from './roles.js';
import { SecretBox } from './secret-box.js';
import { SessionStore, type SessionPolicy } from './sessions.js';
import { TotpStore } from './totp.js';

export interface AccessOptions {
  passphrase: string;
  bootstrapAdminKey?: string;
  oidcIssuers: OidcIssuer[];
  session: SessionPolicy;
  lockout: LockoutPolicy;
}

export class AccessService {
  readonly keys: ApiKeyStore;
  readonly audit: AuditLog;
  private readonly sessions: SessionStore;
  private readonly totp: TotpStore;
  private readonly oidc: OidcVerifier;
  private readonly lockout: Lockout;
  private readonly authenticator: Authenticator;
  private anyCredential = false;

  constructor(db: Kysely<Database>, dialect: DialectName, private readonly options: AccessOptions) {
    this.keys = new ApiKeyStore(db);
    this.audit = new AuditLog(db, dialect);
    this.sessions = new SessionStore(db, options.session);
    this.totp = new TotpStore(db, new SecretBox(options.passphrase));
    this.oidc = new OidcVerifier(options.oidcIssuers);
    this.lockout = new Lockout(db, options.lockout);
    this.authenticator = new Authenticator(this.keys, this.sessions, this.oidc);
  }

  /** Installs STACKPILOT_BOOTSTRAP_ADMIN_KEY as an admin key, once. */
  async bootstrap(): Promise<void> {
    const token = this.options.bootstrapAdminKey;
    if (!token) return;
    if (!KEY_PATTERN.test(token)) throw new Error('STACKPILOT_BOOTSTRAP_ADMIN_KEY is not an API key (sp_<12 chars>_<43 chars>): make one with `npm run create-admin-key -- --print-only`');
    if (await this.keys.existsWithToken(token)) return;
    try {
      await this.keys.create({ name: 'bootstrap admin', principal: 'bootstrap-admin', grants: ADMIN_GRANTS, expiresInDays: MAX_KEY_DAYS }, Date.now(), token);
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

  async authenticate(authorization: string | undefined, source: string): Promise<Principal> {
    const wait = await this.lockout.retryAfter(source);
    if (wait > 0) throw new TooManyRequestsError('locked_out', 'too many failed authentications from this address', wait);
    try {
      return await this.authenticator.authenticate(authorization);
    } catch (error) {
      await this.lockout.recordFailure(source);
      throw error;
    }
  }

  /**
   * Decides a permission. Without read access to the environment the caller learns nothing,
   * not even that it exists: the answer is the same 404 as for an unknown one.
   */
  authorize(principal: Principal, permission: Permission, environment?: string): void {
    if (environment !== undefined && !allows(principal.grants, 'read', environment)) {
      throw new NotFoundError('environment_not_found', `no environment named ${JSON.stringify(environment)}`);
    }
    if (!allows(principal.grants, permission, environment)) {
      throw new ForbiddenError('forbidden', `${principal.name} may not ${permission}${environment ? ` ${environment}` : ''}`);
    }
    if (needsSecondFactor(permission) && !principal.secondFactor) {
      throw new ForbiddenError('second_factor_required', `${permission} needs a session opened with a one-time code: POST /v1/sessions`);
    }
  }

  canRead(principal: Principal, environment: string): boolean {
    return allows(principal.grants, 'read', environment);
  }

  createKey(input: NewKey) {
    return this.keys.create(input);
  }

  /** A key may rotate itself (so CI can swap its own secret); any other rotation is an admin's. */
  async rotateKey(principal: Principal, id: string, graceHours: number) {
    if (principal.keyId !== id) this.authorize(principal, 'admin');
    return this.keys.rotate(id, graceHours);
  }

  async enrolTotp(principal: Principal) {
    this.requireAdminKey(principal);
    return this.totp.enrol(principal.name);
  }

  async confirmTotp(principal: Principal, code: string) {
    this.requireAdminKey(principal);
    await this.totp.confirm(principal.name, code);
  }

  async openSession(principal: Principal, code: string) {
    this.requireAdminKey(principal);
    await this.totp.verify(principal.name, code);
    const opened = await this.sessions.open(principal.name, principal.keyId!);
    return { ...opened, idleTimeoutSeconds: this.options.session.idleSeconds };
  }

  async closeSession(principal: Principal) {
    if (!principal.sessionId) throw new ForbiddenError('not_a_session', 'this credential is not a session');
    await this.sessions.close(principal.sessionId);
  }

  private requireAdminKey(principal: Principal): void {
    if (principal.kind !== 'key' || !hasRole(principal.grants, 'admin')) {
      throw new ForbiddenError('admin_key_required', 'second factors and sessions belong to API keys with an admin grant');
    }
  }
}

/** The bootstrap admin: everything, production named explicitly. */
export const ADMIN_GRANTS: Grant[] = [{ role: 'admin', environments: '*' }, { role: 'admin', environments: ['production'] }];

export type { ApiKey, Principal };
