// Turns an Authorization header into a principal: an API key (sp_...), a session opened with
// a second factor (sps_...), or an OIDC JWT from a trusted issuer.
import { UnauthorizedError } from '../errors.js';
import { KEY_PATTERN, type ApiKeyStore } from './api-keys.js';
import { JWT_PATTERN, type OidcVerifier } from './oidc.js';
import type { Grant } from './roles.js';
import { SESSION_PATTERN, type SessionStore } from './sessions.js';

export interface Principal {
  name: string;
  kind: 'key' | 'session' | 'oidc';
  /** Key id, session id or token subject: what the audit trail records, never the secret. */
  credentialId: string;
  /** The API key behind a key or session credential. */
  keyId?: string;
  sessionId?: string;
  grants: Grant[];
  /** True only for sessions, which were opened with a TOTP code. */
  secondFactor: boolean;
}

export class Authenticator {
  constructor(
    private readonly keys: ApiKeyStore,
    private readonly sessions: SessionStore,
    private readonly oidc: OidcVerifier,
  ) {}

  async authenticate(authorization: string | undefined): Promise<Principal> {
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
      return { name: session.principal, kind: 'session', credentialId: session.id, keyId: key.id, sessionId: session.id, grants: key.grants, secondFactor: true };
    }
    if (token.startsWith('sp_') || KEY_PATTERN.test(token)) {
      const key = await this.keys.authenticate(token);
      return { name: key.principal, kind: 'key', credentialId: key.id, keyId: key.id, grants: key.grants, secondFactor: false };
    }
    if (JWT_PATTERN.test(token) && this.oidc.configured) {
      const identity = await this.oidc.verify(token);
      return { name: identity.principal, kind: 'oidc', credentialId: identity.subject, grants: identity.grants, secondFactor: false };
    }
    throw new UnauthorizedError('credential_malformed', 'the credential is not a Stackpilot API key, session token or JWT');
  }
}
