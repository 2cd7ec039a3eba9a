// Real credentials for tests, made through the API itself: a bootstrap admin key, its TOTP
// enrolment, and an admin session (which may do everything, destroy included).
import type { FastifyInstance } from 'fastify';
import * as OTPAuth from 'otpauth';

export { generateKeyToken as newKeyToken } from '../../src/auth/api-keys.js';

export function totpCode(secret: string, timestamp = Date.now()): string {
  return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * Enrols a TOTP for the key's principal and opens a session. The confirmation uses the
 * previous time step's code and the session the current one: each code is accepted once.
 */
export async function adminSession(app: FastifyInstance, adminKey: string): Promise<{ token: string; totpSecret: string; usedCode: string }> {
  const enrolled = await app.inject({ method: 'POST', url: '/v1/mfa/totp', headers: bearer(adminKey) });
  if (enrolled.statusCode !== 201) throw new Error(`enrolment failed: ${enrolled.body}`);
  const { secret } = enrolled.json() as { secret: string };
  const confirmed = await app.inject({ method: 'POST', url: '/v1/mfa/totp/confirm', headers: bearer(adminKey), payload: { code: totpCode(secret, Date.now() - 30_000) } });
  if (confirmed.statusCode !== 204) throw new Error(`confirmation failed: ${confirmed.body}`);
  const usedCode = totpCode(secret);
  const session = await app.inject({ method: 'POST', url: '/v1/sessions', headers: bearer(adminKey), payload: { code: usedCode } });
  if (session.statusCode !== 201) throw new Error(`session failed: ${session.body}`);
  return { token: (session.json() as { token: string }).token, totpSecret: secret, usedCode };
}
