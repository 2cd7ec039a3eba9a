// One reading of a cron expression for every schedule that takes one (maintenance windows,
// drift checks), so both accept the same syntax and refuse a bad one with the same error.
import { Cron } from 'croner';
import { InvalidInputError } from '../errors.js';

/**
 * A paused croner schedule for `expression`, read in `timezone` (the process's zone when
 * omitted); a 400 `invalid_cron` naming `field` when croner cannot read it.
 */
export function parseCron(expression: string, { field, timezone }: { field: string; timezone?: string }): Cron {
  try {
    return new Cron(expression, { paused: true, ...(timezone ? { timezone } : {}) });
  } catch (error) {
    throw new InvalidInputError('invalid_cron', `${field} is not a valid cron expression: ${(error as Error).message}`, { field });
  }
}
