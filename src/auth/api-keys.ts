// API keys: 256 random bits behind a recognisable prefix (sp_<id>_<secret>), stored only as a
// SHA-256 hash (the secret has full entropy, so a fast hash is enough and lookups stay cheap),
// shown once, always expiring, with last use recorded and rotation that keeps the old key
// valid for a stated grace period.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { InvalidInputError, NotFoundError, UnauthorizedError } from '../errors.js';
import { isoTime } from '../store/rows.js';
import type { ApiKeysTable, Database } from '../store/schema.js';
import type { Grant } from './roles.js';

export const KEY_PATTERN = /^sp_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
export const MAX_KEY_DAYS = 365;
export const MAX_GRACE_HOURS = 7 * 24;
const DAY = 24 * 60 * 60 * 1000;
const LAST_USE_RESOLUTION_MS = 60 * 1000;

export interface ApiKey {
  id: string;
  name: string;
  principal: string;
  grants: Grant[];
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  replacedBy: string | null;
  graceUntil: string | null;
}

export interface NewKey {
  name: string;
  principal: string;
  grants: Grant[];
  expiresInDays: number;
}

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

export class ApiKeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Creates a key; the token is returned here and never again. */
  async create(input: NewKey, now = Date.now(), token?: string): Promise<{ key: ApiKey; token: string }> {
    if (!(input.expiresInDays > 0 && input.expiresInDays <= MAX_KEY_DAYS)) {
      throw new InvalidInputError('invalid_expiry', `expiresInDays must be between 1 and ${MAX_KEY_DAYS}`, { field: 'body.expiresInDays' });
    }
    const made = token ? { token, prefix: KEY_PATTERN.exec(token)?.[1] ?? '' } : generate();
    const id = randomUUID();
    await this.db.insertInto('api_keys').values({
      id, prefix: made.prefix, hash: hashKey(made.token), name: input.name, principal: input.principal,
      grants: JSON.stringify(input.grants), created_at: now, expires_at: now + input.expiresInDays * DAY,
      last_used_at: null, revoked_at: null, replaced_by: null, grace_until: null,
    }).execute();
    return { key: (await this.get(id))!, token: made.token };
  }

  async get(id: string): Promise<ApiKey | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toKey(row);
  }

  async list(): Promise<ApiKey[]> {
    const rows = await this.db.selectFrom('api_keys').selectAll().orderBy('created_at', 'desc').execute();
    return rows.map(toKey);
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('api_keys').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async existsWithToken(token: string): Promise<boolean> {
    const prefix = KEY_PATTERN.exec(token)?.[1];
    return Boolean(prefix && (await this.db.selectFrom('api_keys').select('id').where('prefix', '=', prefix).executeTakeFirst()));
  }

  /** The key behind a token, or a 401 that says why not (never which part was wrong). */
  async authenticate(token: string, now = Date.now()): Promise<ApiKey> {
    const match = KEY_PATTERN.exec(token);
    if (!match) throw new UnauthorizedError('credential_malformed', 'the credential is not a Stackpilot API key, session token or JWT');
    const row = await this.db.selectFrom('api_keys').selectAll().where('prefix', '=', match[1]!).executeTakeFirst();
    if (!row || !safeEqual(row.hash, hashKey(token))) throw new UnauthorizedError('credential_invalid', 'unknown API key');
    if (row.revoked_at !== null && row.revoked_at <= now) throw new UnauthorizedError('credential_revoked', 'this API key was revoked').by(row.principal, row.id);
    if (row.grace_until !== null && row.grace_until <= now) throw new UnauthorizedError('credential_rotated', 'this API key was rotated and its grace period is over').by(row.principal, row.id);
    if (row.expires_at <= now) throw new UnauthorizedError('credential_expired', 'this API key has expired').by(row.principal, row.id);
    // Last use is kept to the minute: one write a minute per key, not one per request.
    if (row.last_used_at === null || row.last_used_at < now - LAST_USE_RESOLUTION_MS) {
      await this.db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', row.id).execute();
      return toKey({ ...row, last_used_at: now });
    }
    return toKey(row);
  }

  /** A new key with the same principal and grants; the old one stays valid for `graceHours`. */
  async rotate(id: string, graceHours: number, now = Date.now()): Promise<{ key: ApiKey; token: string }> {
    if (!(graceHours >= 0 && graceHours <= MAX_GRACE_HOURS)) {
      throw new InvalidInputError('invalid_grace', `graceHours must be between 0 and ${MAX_GRACE_HOURS}`, { field: 'body.graceHours' });
    }
    const old = await this.get(id);
    if (!old || old.revokedAt) throw new NotFoundError('key_not_found', `no active key with id ${id}`);
    const days = Math.max(1, Math.round((Date.parse(old.expiresAt) - Date.parse(old.createdAt)) / DAY));
    const created = await this.create({ name: old.name, principal: old.principal, grants: old.grants, expiresInDays: Math.min(days, MAX_KEY_DAYS) }, now);
    await this.db.updateTable('api_keys').set({ replaced_by: created.key.id, grace_until: now + graceHours * 60 * 60 * 1000 })
      .where('id', '=', id).execute();
    return created;
  }

  async revoke(id: string, now = Date.now()): Promise<ApiKey> {
    const result = await this.db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new NotFoundError('key_not_found', `no active key with id ${id}`);
    return (await this.get(id))!;
  }
}

function safeEqual(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function toKey(row: Selectable<ApiKeysTable>): ApiKey {
  return {
    id: row.id, name: row.name, principal: row.principal, grants: JSON.parse(row.grants) as Grant[],
    createdAt: isoTime(row.created_at)!, expiresAt: isoTime(row.expires_at)!, lastUsedAt: isoTime(row.last_used_at),
    revokedAt: isoTime(row.revoked_at), replacedBy: row.replaced_by, graceUntil: isoTime(row.grace_until),
  };
}
