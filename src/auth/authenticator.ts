// Turns an Authorization header into an Actor: an API key (sp_...), a session opened with a
// second factor (sps_...), or an OIDC JWT from a trusted issuer. Failures count toward the
// source's lockout.
import { UnauthorizedError } from '../errors.js';
import type { Actor } from './actor.js';
import { UNCACHED, type CredentialCache, type CredentialView } from './credential-cache.js';
import { KEY_PATTERN, type ApiKeys } from './api-keys.js';
import { bySource, type Lockout } from './lockout.js';
import { JWT_PATTERN, type OidcVerifier } from './oidc.js';
import { SESSION_PATTERN, type Sessions } from './sessions.js';

export class Authenticator {
  constructor(
    private readonly keys: ApiKeys,
    private readonly sessions: Sessions,
    private readonly oidc: OidcVerifier,
    private readonly lockout: Lockout,
    /** Credentials already checked, valid until any credential changes on any replica. */
    private readonly cache?: CredentialCache,
  ) {}

  /**
   * Starts reading what deciding a credential needs (the credentials version) at once, so the
   * door can overlap it with its rate limit by source; pass it to authenticate().
   */
  prepare(): Promise<CredentialView> {
    const view = this.view();
    view.catch(() => undefined); // a request refused before it authenticates never awaits it
    return view;
  }

  async authenticate(authorization: string | undefined, source: string, prepared = this.view()): Promise<Actor> {
    const view = await prepared;
    await this.lockout.check([bySource(source)], Date.now(), view);
    try {
      return { ...(await this.credential(authorization, view)), source };
    } catch (error) {
      await this.lockout.recordFailure([bySource(source)]);
      throw error;
    }
  }

  /** Whether the credential is still valid, without counting a failure toward a lockout (a long stream's re-check). */
  stillValid(authorization: string | undefined): Promise<boolean> {
    return this.view().then((view) => this.credential(authorization, view)).then(() => true, () => false);
  }

  private view(): Promise<CredentialView> {
    return this.cache ? this.cache.view() : Promise.resolve(UNCACHED);
  }

  private async credential(authorization: string | undefined, view: CredentialView): Promise<Omit<Actor, 'source'>> {
    if (!authorization) throw new UnauthorizedError('credential_missing', 'this route needs a credential: Authorization: Bearer <API key, session token or JWT>');
    const [scheme, token, ...rest] = authorization.trim().split(/\s+/);
    if (scheme?.toLowerCase() !== 'bearer' || !token || rest.length) {
      throw new UnauthorizedError('credential_malformed', 'the Authorization header must be "Bearer <token>"');
    }
    if (token.startsWith('sps_')) {
      if (!SESSION_PATTERN.test(token)) throw new UnauthorizedError('credential_malformed', 'malformed session token');
      const now = Date.now();
      const session = await this.sessions.authenticate(token, now, view);
      // A session ends when its key stops being valid, for any reason.
      const key = await this.keys.forSession(session.keyId, now, view);
      return {
        principal: session.principal, kind: 'session', credentialId: session.id, keyId: key.id, sessionId: session.id,
        factor: key.secondFactor, grants: key.grants, secondFactor: session.secondFactor,
      };
    }
    if (token.startsWith('sp_') || KEY_PATTERN.test(token)) {
      const key = await this.keys.authenticate(token, Date.now(), view);
      return { principal: key.principal, kind: 'key', credentialId: key.id, keyId: key.id, factor: key.secondFactor, grants: key.grants, secondFactor: false };
    }
    if (JWT_PATTERN.test(token) && this.oidc.configured) {
      const identity = await this.oidc.verify(token);
      return { principal: identity.principal, kind: 'oidc', credentialId: identity.subject, grants: identity.grants, secondFactor: false };
    }
    throw new UnauthorizedError('credential_malformed', 'the credential is not a Stackpilot API key, session token or JWT');
  }
}
