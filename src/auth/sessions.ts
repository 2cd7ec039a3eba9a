// Sessions: what an API key plus a TOTP code is exchanged for, and the only credential that
// carries a second factor. A session ends at its absolute lifetime or after an idle timeout,
// both configurable, whichever comes first.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { UnauthorizedError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { SessionRepository } from '../store/session-repository.js';
import { hashKey } from './api-keys.js';

export const SESSION_PATTERN = /^sps_[A-Za-z0-9_-]{43}$/;

export interface SessionPolicy {
  lifetimeSeconds: number;
  idleSeconds: number;
}

export interface Session {
  id: string;
  principal: string;
  keyId: string;
  expiresAt: string;
  /** Opened with a TOTP code; a dashboard sign-in with a key alone is not. */
  secondFactor: boolean;
}

export class Sessions {
  constructor(private readonly sessions: SessionRepository, private readonly policy: SessionPolicy) {}

  async open(principal: string, keyId: string, db?: Kysely<Database>, now = Date.now(), secondFactor = true): Promise<{ session: Session; token: string }> {
    const token = `sps_${randomBytes(32).toString('base64url')}`;
    const id = randomUUID();
    const expiresAt = now + this.policy.lifetimeSeconds * 1000;
    await this.sessions.insert({ id, hash: hashKey(token), principal, key_id: keyId, created_at: now, expires_at: expiresAt, last_seen_at: now, revoked_at: null, second_factor: secondFactor ? 1 : 0 }, db);
    return { session: { id, principal, keyId, expiresAt: new Date(expiresAt).toISOString(), secondFactor }, token };
  }

  async authenticate(token: string, now = Date.now()): Promise<Session> {
    const row = await this.sessions.byHash(hashKey(token));
    if (!row) throw new UnauthorizedError('credential_invalid', 'unknown session');
    if (row.revoked_at !== null) throw new UnauthorizedError('session_ended', 'this session was closed').by(row.principal, row.id);
    if (row.expires_at <= now) throw new UnauthorizedError('session_expired', 'this session has reached its lifetime').by(row.principal, row.id);
    if (row.last_seen_at + this.policy.idleSeconds * 1000 <= now) throw new UnauthorizedError('session_idle', 'this session timed out after being idle').by(row.principal, row.id);
    await this.sessions.touch(row.id, now);
    return { id: row.id, principal: row.principal, keyId: row.key_id, expiresAt: new Date(row.expires_at).toISOString(), secondFactor: row.second_factor === 1 };
  }

  close(id: string, db?: Kysely<Database>, now = Date.now()): Promise<void> {
    return this.sessions.close(id, now, db);
  }
}
