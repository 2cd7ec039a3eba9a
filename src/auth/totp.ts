// The second factor: a TOTP (RFC 6238) enrolled per admin principal. Codes are checked with
// otpauth, one step of clock drift either way; a code is accepted once (its time step is
// remembered), and the seed is stored sealed, never in clear text.
import type { Kysely } from 'kysely';
import * as OTPAuth from 'otpauth';
import { ConflictError, ForbiddenError, UnauthorizedError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { SecretBox } from './secret-box.js';

const PERIOD = 30;

function totpOf(principal: string, secret: OTPAuth.Secret): OTPAuth.TOTP {
  return new OTPAuth.TOTP({ issuer: 'Stackpilot', label: principal, algorithm: 'SHA1', digits: 6, period: PERIOD, secret });
}

export class TotpStore {
  constructor(private readonly db: Kysely<Database>, private readonly box: SecretBox) {}

  /** Starts (or restarts, while unconfirmed) an enrolment; the seed is shown once. */
  async enrol(principal: string): Promise<{ secret: string; otpauthUri: string }> {
    const existing = await this.db.selectFrom('totp_enrolments').select('confirmed').where('principal', '=', principal).executeTakeFirst();
    if (existing?.confirmed) throw new ConflictError('totp_already_enrolled', `${principal} already has a confirmed second factor`);
    const secret = new OTPAuth.Secret({ size: 20 });
    const sealed = this.box.seal(secret.base32);
    await this.db.deleteFrom('totp_enrolments').where('principal', '=', principal).execute();
    await this.db.insertInto('totp_enrolments').values({ principal, secret: sealed }).execute();
    return { secret: secret.base32, otpauthUri: totpOf(principal, secret).toString() };
  }

  async confirm(principal: string, code: string, now = Date.now()): Promise<void> {
    await this.verify(principal, code, now, false);
    await this.db.updateTable('totp_enrolments').set({ confirmed: 1 }).where('principal', '=', principal).execute();
  }

  async isEnrolled(principal: string): Promise<boolean> {
    const row = await this.db.selectFrom('totp_enrolments').select('confirmed').where('principal', '=', principal).executeTakeFirst();
    return Boolean(row?.confirmed);
  }

  /** Checks a code; wrong, reused and expired codes are refused alike. */
  async verify(principal: string, code: string, now = Date.now(), mustBeConfirmed = true): Promise<void> {
    const row = await this.db.selectFrom('totp_enrolments').selectAll().where('principal', '=', principal).executeTakeFirst();
    if (!row || (mustBeConfirmed && !row.confirmed)) throw new ForbiddenError('totp_not_enrolled', `${principal} has no confirmed second factor: enrol with POST /v1/mfa/totp`);
    const totp = totpOf(principal, OTPAuth.Secret.fromBase32(this.box.open(row.secret)));
    const delta = /^\d{6}$/.test(code) ? totp.validate({ token: code, timestamp: now, window: 1 }) : null;
    if (delta === null) throw new UnauthorizedError('totp_invalid', 'the one-time code is wrong or expired');
    const step = Math.floor(now / 1000 / PERIOD) + delta;
    // Compare-and-set on the last accepted step: a code (or an older one) is never accepted twice.
    const accepted = await this.db.updateTable('totp_enrolments').set({ last_step: step })
      .where('principal', '=', principal).where('last_step', '<', step).executeTakeFirst();
    if (Number(accepted.numUpdatedRows) !== 1) throw new UnauthorizedError('totp_reused', 'this one-time code was already used');
  }
}
