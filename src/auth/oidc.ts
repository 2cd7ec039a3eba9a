// Short-lived tokens from CI: OIDC JWTs from configured issuers (GitHub Actions and the like),
// verified with jose against the issuer's JWKS (signature, issuer, audience, expiry), then
// mapped to grants by rules on their claims. No rule matched: no access. A token must say when
// it was issued and when it expires, may live at most the configured maximum age, and may not
// be issued in the future beyond a small clock skew.
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import type { Grant } from './roles.js';

export interface OidcRule {
  /** Every listed claim must equal the value (strings compared exactly; "*" suffix = prefix match). */
  claims: Record<string, string>;
  grants: Grant[];
}

export interface OidcIssuer {
  issuer: string;
  audience: string;
  jwksUri: string;
  rules: OidcRule[];
}

export interface OidcIdentity {
  principal: string;
  subject: string;
  grants: Grant[];
}

export const JWT_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Clocks of issuer and service may disagree by this much. */
const CLOCK_SKEW_SECONDS = 60;

export class OidcVerifier {
  private readonly keys = new Map<string, JWTVerifyGetKey>();

  constructor(private readonly issuers: readonly OidcIssuer[], private readonly maxTokenAgeSeconds = 3600) {
    for (const issuer of issuers) this.keys.set(issuer.issuer, createRemoteJWKSet(new URL(issuer.jwksUri)));
  }

  get configured(): boolean {
    return this.issuers.length > 0;
  }

  async verify(token: string): Promise<OidcIdentity> {
    const iss = unverifiedIssuer(token);
    const issuer = this.issuers.find((i) => i.issuer === iss);
    if (!issuer) throw new UnauthorizedError('token_issuer_unknown', 'the token comes from an issuer this service does not trust');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys.get(issuer.issuer)!, {
        issuer: issuer.issuer, audience: issuer.audience, algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'],
        requiredClaims: ['exp', 'iat'], maxTokenAge: this.maxTokenAgeSeconds, clockTolerance: CLOCK_SKEW_SECONDS,
      }));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ERR_JWT_EXPIRED') throw new UnauthorizedError('token_expired', 'the token has expired');
      if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') throw new UnauthorizedError('token_claim_invalid', `the token's ${(error as { claim?: string }).claim ?? ''} claim is missing or not acceptable here`);
      throw new UnauthorizedError('token_invalid', 'the token signature could not be verified');
    }
    // A token issued to live longer than the maximum age is refused, however it was signed.
    if (Number(payload.exp) - Number(payload.iat) > this.maxTokenAgeSeconds + CLOCK_SKEW_SECONDS) {
      throw new UnauthorizedError('token_lifetime_too_long', `the token lives longer than ${this.maxTokenAgeSeconds} s`);
    }
    const grants = issuer.rules.filter((rule) => matches(rule.claims, payload)).flatMap((rule) => rule.grants);
    const subject = String(payload.sub ?? 'unknown');
    if (!grants.length) throw new ForbiddenError('token_no_rule', 'no rule of this issuer grants anything to this token');
    return { principal: `oidc:${subject}`, subject, grants };
  }
}

function matches(claims: Record<string, string>, payload: JWTPayload): boolean {
  return Object.entries(claims).every(([name, expected]) => {
    const actual = payload[name];
    if (typeof actual !== 'string') return false;
    return expected.endsWith('*') ? actual.startsWith(expected.slice(0, -1)) : actual === expected;
  });
}

/** Which issuer a token claims to be from, read before verifying to pick its keys. */
function unverifiedIssuer(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { iss?: unknown };
    return typeof payload.iss === 'string' ? payload.iss : undefined;
  } catch {
    return undefined;
  }
}
