// Sessions: what an API key plus a TOTP code is exchanged for, and the only credential that
// carries a second factor. A session ends at its absolute lifetime or after an idle timeout,
// both configurable, whichever comes first.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { UnauthorizedError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { SessionRepository, SessionRow } from '../store/session-repository.js';
import { hashKey } from './api-keys.js';
import { UNCACHED, type CredentialView } from './credential-cache.js';

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

/** A session as a replica caches it: its row (last_seen_at: its last use here) and when last seen was last written. */
interface CachedSession {
  row: SessionRow;
  session: Session;
  writtenAt: number;
}

/**
 * Last seen is written at most this often per session (a tenth of the idle timeout, at most
 * 10 s), not on every request. The replica that serves a session judges idleness by its own
 * last use; another replica reads last seen from the database, at most this much older, so
 * there a session may time out up to this much early, never late.
 */
export const lastSeenWriteInterval = (policy: SessionPolicy) => Math.min(10_000, policy.idleSeconds * 100);

export class Sessions {
  private readonly writeEveryMs: number;

  constructor(private readonly sessions: SessionRepository, private readonly policy: SessionPolicy) {
    this.writeEveryMs = lastSeenWriteInterval(policy);
  }

  async open(principal: string, keyId: string, db?: Kysely<Database>, now = Date.now(), secondFactor = true): Promise<{ session: Session; token: string }> {
    const token = `sps_${randomBytes(32).toString('base64url')}`;
    const id = randomUUID();
    const expiresAt = now + this.policy.lifetimeSeconds * 1000;
    await this.sessions.insert({ id, hash: hashKey(token), principal, key_id: keyId, created_at: now, expires_at: expiresAt, last_seen_at: now, revoked_at: null, second_factor: secondFactor ? 1 : 0 }, db);
    return { session: { id, principal, keyId, expiresAt: new Date(expiresAt).toISOString(), secondFactor }, token };
  }

  async authenticate(token: string, now = Date.now(), view: CredentialView = UNCACHED): Promise<Session> {
    const hash = hashKey(token);
    const cacheKey = `session:${hash}`;
    const known = view.get<CachedSession>(cacheKey);
    // A refusal is never taken from the cache: another replica may have seen the session since.
    if (known && !this.refusal(known.row, now)) return this.seen(known, now);
    const row = await this.sessions.byHash(hash);
    if (!row) throw new UnauthorizedError('credential_invalid', 'unknown session');
    const refused = this.refusal(row, now);
    if (refused) throw refused;
    const entry: CachedSession = {
      row: { ...row }, writtenAt: row.last_seen_at,
      session: { id: row.id, principal: row.principal, keyId: row.key_id, expiresAt: new Date(row.expires_at).toISOString(), secondFactor: row.second_factor === 1 },
    };
    view.set(cacheKey, entry);
    return this.seen(entry, now);
  }

  private refusal(row: SessionRow, now: number): UnauthorizedError | undefined {
    if (row.revoked_at !== null) return new UnauthorizedError('session_ended', 'this session was closed').by(row.principal, row.id);
    if (row.expires_at <= now) return new UnauthorizedError('session_expired', 'this session has reached its lifetime').by(row.principal, row.id);
    if (row.last_seen_at + this.policy.idleSeconds * 1000 <= now) return new UnauthorizedError('session_idle', 'this session timed out after being idle').by(row.principal, row.id);
    return undefined;
  }

  private async seen(entry: CachedSession, now: number): Promise<Session> {
    if (now > entry.row.last_seen_at) entry.row.last_seen_at = now;
    if (now - entry.writtenAt >= this.writeEveryMs) {
      entry.writtenAt = now;
      await this.sessions.touch(entry.row.id, now);
    }
    return entry.session;
  }

  close(id: string, db?: Kysely<Database>, now = Date.now()): Promise<void> {
    return this.sessions.close(id, now, db);
  }
}
