// The window arithmetic, around America/Toronto's daylight-saving switches of 2026 (clocks go
// from 02:00 EST to 03:00 EDT on March 8, and from 02:00 EDT back to 01:00 EST on November 1),
// and the refusals of rules that cannot work.
import { describe, expect, it } from 'vitest';
import { MaintenanceWindows, durationMs, localTime } from '../../src/calendar/maintenance-windows.js';

const at = (iso: string) => Date.parse(iso);
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const sundaysAt2 = MaintenanceWindows.parse([{ cron: '0 2 * * 0', duration: 'PT2H', timezone: 'America/Toronto' }], []);

describe('maintenance windows', () => {
  it('opens at the local time on both sides of the spring switch, and at 03:00 EDT on the day 02:00 does not exist', () => {
    expect(sundaysAt2.openings(at('2026-02-27T00:00:00Z'), 3).map((p) => [iso(p.opensAt), iso(p.closesAt)])).toEqual([
      ['2026-03-01T07:00:00.000Z', '2026-03-01T09:00:00.000Z'], // 02:00 EST
      ['2026-03-08T07:00:00.000Z', '2026-03-08T09:00:00.000Z'], // 03:00 EDT, the moment 02:00 is skipped to
      ['2026-03-15T06:00:00.000Z', '2026-03-15T08:00:00.000Z'], // 02:00 EDT
    ]);
    expect(localTime(at('2026-03-01T07:00:00Z'), 'America/Toronto')).toBe('2026-03-01T02:00:00-05:00');
    expect(localTime(at('2026-03-08T07:00:00Z'), 'America/Toronto')).toBe('2026-03-08T03:00:00-04:00');
    expect(localTime(at('2026-03-15T06:00:00Z'), 'America/Toronto')).toBe('2026-03-15T02:00:00-04:00');
  });

  it('is open for its duration in elapsed time across the switch, and closed around it', () => {
    expect(sundaysAt2.isOpen(at('2026-03-08T06:59:59Z'))).toBe(false);
    expect(sundaysAt2.isOpen(at('2026-03-08T07:00:00Z'))).toBe(true);
    expect(sundaysAt2.isOpen(at('2026-03-08T08:59:59Z'))).toBe(true);
    expect(sundaysAt2.isOpen(at('2026-03-08T09:00:00Z'))).toBe(false);
    expect(iso(sundaysAt2.nextOpening(at('2026-03-08T09:00:00Z')))).toBe('2026-03-15T06:00:00.000Z');
    expect(iso(sundaysAt2.nextOpening(at('2026-03-08T08:00:00Z')))).toBe('2026-03-08T08:00:00.000Z'); // open: now
  });

  it('opens once in the repeated autumn hour, and a window that spans the switch lasts its elapsed duration', () => {
    const at0130 = MaintenanceWindows.parse([{ cron: '30 1 * * *', duration: 'PT2H', timezone: 'America/Toronto' }], []);
    const periods = at0130.openings(at('2026-10-31T12:00:00Z'), 2);
    expect(periods.map((p) => [iso(p.opensAt), iso(p.closesAt)])).toEqual([
      ['2026-11-01T05:30:00.000Z', '2026-11-01T07:30:00.000Z'], // 01:30 EDT, then 02:30 EST two hours later
      ['2026-11-02T06:30:00.000Z', '2026-11-02T08:30:00.000Z'], // 01:30 EST
    ]);
    expect(localTime(periods[0]!.opensAt, 'America/Toronto')).toBe('2026-11-01T01:30:00-04:00');
    expect(localTime(periods[0]!.closesAt, 'America/Toronto')).toBe('2026-11-01T02:30:00-05:00');
    expect(at0130.isOpen(at('2026-11-01T06:30:00Z'))).toBe(true); // 01:30 EST, the second time: still the first opening
    expect(iso(sundaysAt2.nextOpening(at('2026-10-26T00:00:00Z')))).toBe('2026-11-01T07:00:00.000Z'); // 02:00 EST
  });

  it('shuts every window during a freeze, and opens when a freeze ends inside a window', () => {
    const frozen = MaintenanceWindows.parse([{ cron: '0 2 * * 0', duration: 'PT2H', timezone: 'America/Toronto' }], [
      { from: '2026-03-01T00:00:00Z', to: '2026-03-08T08:00:00Z', reason: 'quarter end' },
    ]);
    expect(frozen.isOpen(at('2026-03-01T07:30:00Z'))).toBe(false);
    expect(iso(frozen.nextOpening(at('2026-02-28T00:00:00Z')))).toBe('2026-03-08T08:00:00.000Z');
    expect(frozen.openings(at('2026-02-28T00:00:00Z'), 2).map((p) => iso(p.opensAt))).toEqual(['2026-03-08T08:00:00.000Z', '2026-03-15T06:00:00.000Z']);
    // Frequent windows under a long freeze: the first opening is the freeze's end.
    const everyFiveMinutes = MaintenanceWindows.parse([{ cron: '*/5 * * * *', duration: 'PT1M', timezone: 'UTC' }], [
      { from: '2026-12-01T00:00:00Z', to: '2027-01-04T00:02:30Z', reason: 'holidays' },
    ]);
    expect(iso(everyFiveMinutes.nextOpening(at('2026-12-01T00:00:00Z')))).toBe('2027-01-04T00:05:00.000Z');
  });

  it('is always open without rules, and open outside freezes with freezes only', () => {
    const none = MaintenanceWindows.parse([], []);
    expect(none.alwaysOpen).toBe(true);
    expect(none.isOpen(at('2026-03-08T07:00:00Z'))).toBe(true);
    expect(none.openings(at('2026-03-08T07:00:00Z'), 5)).toEqual([]);
    const freezeOnly = MaintenanceWindows.parse([], [{ from: '2026-12-20T00:00:00Z', to: '2027-01-04T00:00:00Z', reason: 'holidays' }]);
    expect(freezeOnly.isOpen(at('2026-12-25T00:00:00Z'))).toBe(false);
    expect(iso(freezeOnly.nextOpening(at('2026-12-25T00:00:00Z')))).toBe('2027-01-04T00:00:00.000Z');
  });

  it('refuses rules that cannot work, naming the field', () => {
    const refusal = (windows: unknown[], freezes: unknown[] = []) => {
      try {
        MaintenanceWindows.validate(windows as never, freezes as never);
      } catch (error) {
        return { code: (error as { code: string }).code, field: (error as { details: { field: string } }).details.field };
      }
      return undefined;
    };
    const ok = { cron: '0 2 * * 0', duration: 'PT2H', timezone: 'UTC' };
    expect(refusal([ok, { ...ok, cron: 'not a cron' }])).toEqual({ code: 'invalid_cron', field: 'windows.1.cron' });
    expect(refusal([{ ...ok, cron: '61 * * * *' }])).toEqual({ code: 'invalid_cron', field: 'windows.0.cron' });
    // A window whose last opening has passed is refused when set, and read as shut when stored.
    expect(refusal([{ ...ok, cron: '0 0 0 1 1 * 2020' }])).toEqual({ code: 'invalid_cron', field: 'windows.0.cron' });
    const past = MaintenanceWindows.parse([{ ...ok, cron: '0 0 0 1 1 * 2020' }], []);
    expect([past.isOpen(Date.now()), past.nextOpening(Date.now())]).toEqual([false, null]);
    expect(refusal([{ ...ok, timezone: 'Mars/Olympus' }])).toEqual({ code: 'unknown_time_zone', field: 'windows.0.timezone' });
    for (const duration of ['PT0S', 'P0D', '-PT1H', 'PT', 'P', '2h', '', 'P40D']) {
      expect(refusal([{ ...ok, duration }]), duration).toEqual({ code: 'invalid_duration', field: 'windows.0.duration' });
    }
    expect(refusal([ok], [{ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z', reason: 'x' }])).toEqual({ code: 'invalid_freeze', field: 'freezes.0.to' });
    expect(refusal([ok], [{ from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z', reason: 'x' }])).toEqual({ code: 'invalid_freeze', field: 'freezes.0.to' });
    expect(refusal([ok], [])).toBeUndefined();
    expect(durationMs('P1DT2H30M15S', 'd')).toBe(((24 + 2) * 3600 + 30 * 60 + 15) * 1000);
  });
});
