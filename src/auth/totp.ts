// The second factor: a TOTP (RFC 6238) enrolled per admin principal. Codes are checked with
// otpauth, one step of clock drift either way; a code is accepted once (its time step is
// remembered), and the seed is stored sealed, never in clear text.
import type { Kysely } from 'kysely';
import * as OTPAuth from 'otpauth';
import { ConflictError, ForbiddenError, UnauthorizedError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { TotpRepository } from '../store/totp-repository.js';
import type { SecretBox } from './secret-box.js';

const PERIOD = 30;

function totpOf(principal: string, secret: OTPAuth.Secret): OTPAuth.TOTP {
  return new OTPAuth.TOTP({ issuer: 'Stackpilot', label: principal, algorithm: 'SHA1', digits: 6, period: PERIOD, secret });
}

export class Totp {
  constructor(private readonly enrolments: TotpRepository, private readonly box: SecretBox) {}

  /** Starts (or restarts, while unconfirmed) an enrolment; the seed is shown once. */
  async enrol(principal: string, db?: Kysely<Database>): Promise<{ secret: string; otpauthUri: string }> {
    const existing = await this.enrolments.get(principal, db);
    if (existing?.confirmed) throw new ConflictError('totp_already_enrolled', `${principal} already has a confirmed second factor`);
    const secret = new OTPAuth.Secret({ size: 20 });
    await this.enrolments.replace(principal, this.box.seal(secret.base32), db);
    return { secret: secret.base32, otpauthUri: totpOf(principal, secret).toString() };
  }

  async confirm(principal: string, code: string, db?: Kysely<Database>, now = Date.now()): Promise<void> {
    await this.verify(principal, code, db, now, false);
    await this.enrolments.confirm(principal, db);
  }

  /** Checks a code; wrong, reused and expired codes are refused alike. */
  async verify(principal: string, code: string, db?: Kysely<Database>, now = Date.now(), mustBeConfirmed = true): Promise<void> {
    const row = await this.enrolments.get(principal, db);
    if (!row || (mustBeConfirmed && !row.confirmed)) throw new ForbiddenError('totp_not_enrolled', `${principal} has no confirmed second factor: enrol with POST /v1/mfa/totp`);
    const totp = totpOf(principal, OTPAuth.Secret.fromBase32(this.box.open(row.secret)));
    const delta = /^\d{6}$/.test(code) ? totp.validate({ token: code, timestamp: now, window: 1 }) : null;
    if (delta === null) throw new UnauthorizedError('totp_invalid', 'the one-time code is wrong or expired');
    const step = Math.floor(now / 1000 / PERIOD) + delta;
    if (!(await this.enrolments.acceptStep(principal, step, db))) throw new UnauthorizedError('totp_reused', 'this one-time code was already used');
  }
}
