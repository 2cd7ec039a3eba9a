// API keys: 256 random bits behind a recognisable prefix (sp_<id>_<secret>), stored only as a
// SHA-256 hash (the secret has full entropy, so a fast hash is enough and lookups stay cheap),
// shown once, always expiring, with last use recorded and rotation that keeps the old key
// valid for a stated grace period.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { ConflictError, InvalidInputError, NotFoundError, UnauthorizedError } from '../errors.js';
import { toKey, type ApiKey, type ApiKeyRepository, type ApiKeyRow } from '../store/api-key-repository.js';
import type { Database } from '../store/schema.js';
import { remember, UNCACHED, type CredentialView } from './credential-cache.js';
import type { Grant } from './roles.js';

export type { ApiKey };

export const KEY_PATTERN = /^sp_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
export const MAX_KEY_DAYS = 365;
export const MAX_GRACE_HOURS = 7 * 24;
const DAY = 24 * 60 * 60 * 1000;
const LAST_USE_RESOLUTION_MS = 60 * 1000;

export interface NewKey {
  name: string;
  principal: string;
  grants: Grant[];
  expiresInDays: number;
}

/** A key that authenticated, with the name its second factor is enrolled under. */
export type AuthenticatedKey = ApiKey & { secondFactor: string };

/** A key as a replica caches it: the row its validity is judged by, and what it authenticates as. */
interface CachedKey {
  row: ApiKeyRow;
  key: AuthenticatedKey;
}

const cached = (row: ApiKeyRow): CachedKey => ({ row, key: { ...toKey(row), secondFactor: row.second_factor ?? row.principal } });

export function hashKey(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A fresh key value (for STACKPILOT_BOOTSTRAP_ADMIN_KEY, or before storing its hash). */
export function generateKeyToken(): string {
  return generate().token;
}

function generate(): { token: string; prefix: string } {
  const prefix = randomBytes(9).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 12);
  return { token: `sp_${prefix}_${randomBytes(32).toString('base64url')}`, prefix };
}

export class ApiKeys {
  constructor(private readonly keys: ApiKeyRepository) {}

  get(id: string) {
    return this.keys.get(id);
  }

  list() {
    return this.keys.list();
  }

  count() {
    return this.keys.count();
  }

  async existsWithToken(token: string): Promise<boolean> {
    const prefix = KEY_PATTERN.exec(token)?.[1];
    return Boolean(prefix && (await this.keys.byPrefix(prefix)));
  }

  /** Creates a key; the token is returned here and never again. */
  /**
   * `secondFactor` names the TOTP enrolment the key's sessions use: its principal's own only
   * when the principal made it (or it is installed at start-up); otherwise one of its own.
   */
  async create(input: NewKey, options: { now?: number; token?: string; db?: Kysely<Database>; secondFactor?: 'principal' | 'own' | { inherit: string }; bootstrap?: boolean } = {}): Promise<{ key: ApiKey; token: string }> {
    const now = options.now ?? Date.now();
    if (!(input.expiresInDays > 0 && input.expiresInDays <= MAX_KEY_DAYS)) {
      throw new InvalidInputError('invalid_expiry', `expiresInDays must be between 1 and ${MAX_KEY_DAYS}`, { field: 'body.expiresInDays' });
    }
    const made = options.token ? { token: options.token, prefix: KEY_PATTERN.exec(options.token)?.[1] ?? '' } : generate();
    const id = randomUUID();
    const factor = options.secondFactor ?? 'principal';
    await this.keys.insert({
      id, prefix: made.prefix, hash: hashKey(made.token), name: input.name, principal: input.principal,
      grants: JSON.stringify(input.grants), created_at: now, expires_at: now + input.expiresInDays * DAY,
      last_used_at: null, revoked_at: null, replaced_by: null, grace_until: null,
      second_factor: factor === 'principal' ? input.principal : factor === 'own' ? `${input.principal}/key:${id}` : factor.inherit,
      bootstrap: options.bootstrap ? 1 : 0,
    }, options.db);
    return { key: (await this.keys.get(id, options.db))!, token: made.token };
  }

  /**
   * The key behind a token, or a 401 that says why not (never which part was wrong). A key
   * found before (in `view`, emptied by any credential change) is judged again by its row,
   * expiry included, without a query.
   */
  async authenticate(token: string, now = Date.now(), view: CredentialView = UNCACHED): Promise<AuthenticatedKey> {
    const match = KEY_PATTERN.exec(token);
    if (!match) throw new UnauthorizedError('credential_malformed', 'the credential is not a Stackpilot API key, session token or JWT');
    const hash = hashKey(token);
    const entry = await remember(view, `key:${hash}`, async () => {
      const row = await this.keys.byPrefix(match[1]!);
      if (!row || !safeEqual(row.hash, hash)) throw new UnauthorizedError('credential_invalid', 'unknown API key');
      return cached(row);
    });
    const { row } = entry;
    refuseInvalid(row, now);
    // Last use is kept to the minute: one write a minute per key, not one per request.
    if (row.last_used_at === null || row.last_used_at < now - LAST_USE_RESOLUTION_MS) {
      await this.keys.touch(row.id, now);
      row.last_used_at = now;
    }
    return entry.key;
  }

  /** The key behind a session, refused for any reason the key itself would be: revoked, rotated out, expired. */
  async forSession(id: string, now = Date.now(), view: CredentialView = UNCACHED): Promise<AuthenticatedKey> {
    const entry = await remember(view, `key-id:${id}`, async () => {
      const row = await this.keys.row(id);
      if (!row) throw new UnauthorizedError('credential_revoked', 'the API key behind this session no longer exists');
      return cached(row);
    });
    refuseInvalid(entry.row, now, 'the API key behind this session');
    return entry.key;
  }

  /** A new key with the same principal and grants; the old one stays valid for `graceHours`. */
  async rotate(id: string, graceHours: number, db?: Kysely<Database>, now = Date.now()): Promise<{ key: ApiKey; token: string }> {
    if (!(graceHours >= 0 && graceHours <= MAX_GRACE_HOURS)) {
      throw new InvalidInputError('invalid_grace', `graceHours must be between 0 and ${MAX_GRACE_HOURS}`, { field: 'body.graceHours' });
    }
    const old = await this.keys.get(id, db);
    if (!old || old.revokedAt) throw new NotFoundError('key_not_found', `no active key with id ${id}`);
    // A key that was replaced cannot rotate again: it would mint another key and push its own end out.
    if (old.replacedBy) throw new ConflictError('key_replaced', `key ${id} was already rotated: rotate its replacement ${old.replacedBy} instead`);
    const factor = (await this.keys.row(id, db))?.second_factor ?? old.principal;
    const days = Math.max(1, Math.round((Date.parse(old.expiresAt) - Date.parse(old.createdAt)) / DAY));
    const created = await this.create({ name: old.name, principal: old.principal, grants: old.grants, expiresInDays: Math.min(days, MAX_KEY_DAYS) }, { now, db, secondFactor: { inherit: factor } });
    await this.keys.markReplaced(id, created.key.id, now + graceHours * 60 * 60 * 1000, db);
    return created;
  }

  /** Revokes every key installed from the bootstrap variable but the one now configured. */
  revokeBootstrapKeysExcept(token: string, now = Date.now()): Promise<string[]> {
    return this.keys.revokeBootstrapExcept(KEY_PATTERN.exec(token)?.[1] ?? '', now);
  }

  async revoke(id: string, db?: Kysely<Database>, now = Date.now()): Promise<ApiKey> {
    if (!(await this.keys.revoke(id, now, db))) throw new NotFoundError('key_not_found', `no active key with id ${id}`);
    return (await this.keys.get(id, db))!;
  }
}

function refuseInvalid(row: ApiKeyRow, now: number, what = 'this API key'): void {
  if (row.revoked_at !== null && row.revoked_at <= now) throw new UnauthorizedError('credential_revoked', `${what} was revoked`).by(row.principal, row.id);
  if (row.grace_until !== null && row.grace_until <= now) throw new UnauthorizedError('credential_rotated', `${what} was rotated and its grace period is over`).by(row.principal, row.id);
  if (row.expires_at <= now) throw new UnauthorizedError('credential_expired', `${what} has expired`).by(row.principal, row.id);
}

function safeEqual(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
