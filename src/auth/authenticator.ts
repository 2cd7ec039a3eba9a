// Turns an Authorization header into an Actor: an API key (sp_...), a session opened with a
// second factor (sps_...), or an OIDC JWT from a trusted issuer. Failures count toward the
// source's lockout.
import { TooManyRequestsError, UnauthorizedError } from '../errors.js';
import type { Actor } from './actor.js';
import { KEY_PATTERN, type ApiKeys } from './api-keys.js';
import type { Lockout } from './lockout.js';
import { JWT_PATTERN, type OidcVerifier } from './oidc.js';
import { SESSION_PATTERN, type Sessions } from './sessions.js';

export class Authenticator {
  constructor(
    private readonly keys: ApiKeys,
    private readonly sessions: Sessions,
    private readonly oidc: OidcVerifier,
    private readonly lockout: Lockout,
  ) {}

  async authenticate(authorization: string | undefined, source: string): Promise<Actor> {
    const wait = await this.lockout.retryAfter(source);
    if (wait > 0) throw new TooManyRequestsError('locked_out', 'too many failed authentications from this address', wait);
    try {
      return { ...(await this.credential(authorization)), source };
    } catch (error) {
      await this.lockout.recordFailure(source);
      throw error;
    }
  }

  private async credential(authorization: string | undefined): Promise<Omit<Actor, 'source'>> {
    if (!authorization) throw new UnauthorizedError('credential_missing', 'this route needs a credential: Authorization: Bearer <API key, session token or JWT>');
    const [scheme, token, ...rest] = authorization.trim().split(/\s+/);
    if (scheme?.toLowerCase() !== 'bearer' || !token || rest.length) {
      throw new UnauthorizedError('credential_malformed', 'the Authorization header must be "Bearer <token>"');
    }
    if (token.startsWith('sps_')) {
      if (!SESSION_PATTERN.test(token)) throw new UnauthorizedError('credential_malformed', 'malformed session token');
      const session = await this.sessions.authenticate(token);
      const key = await this.keys.get(session.keyId);
      if (!key || key.revokedAt) throw new UnauthorizedError('credential_revoked', 'the API key behind this session was revoked');
      return { principal: session.principal, kind: 'session', credentialId: session.id, keyId: key.id, sessionId: session.id, grants: key.grants, secondFactor: true };
    }
    if (token.startsWith('sp_') || KEY_PATTERN.test(token)) {
      const key = await this.keys.authenticate(token);
      return { principal: key.principal, kind: 'key', credentialId: key.id, keyId: key.id, grants: key.grants, secondFactor: false };
    }
    if (JWT_PATTERN.test(token) && this.oidc.configured) {
      const identity = await this.oidc.verify(token);
      return { principal: identity.principal, kind: 'oidc', credentialId: identity.subject, grants: identity.grants, secondFactor: false };
    }
    throw new UnauthorizedError('credential_malformed', 'the credential is not a Stackpilot API key, session token or JWT');
  }
}
