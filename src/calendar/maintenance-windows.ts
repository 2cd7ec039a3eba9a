// The arithmetic of an environment's maintenance calendar: recurring windows (a cron opening,
// in the window's own time zone, held open for a duration) and freezes (absolute intervals
// that shut every window). Croner does the time zone work, daylight-saving changes included:
// an opening in the skipped spring hour happens when the clocks jump (03:00), one in the
// repeated autumn hour happens once (the first time). A duration is elapsed time, so a 2-hour
// window that spans a switch is open for 2 hours, whatever the wall clock says.
import type { Cron } from 'croner';
import { InvalidInputError } from '../errors.js';
import { parseCron } from './cron-expression.js';

export interface WindowRule {
  /** When it opens, as croner reads it (five or six fields; seconds first when six). */
  cron: string;
  /** How long it stays open: an ISO 8601 duration such as PT2H, PT90M, P1DT12H. */
  duration: string;
  /** The IANA time zone the cron is read in: America/Toronto. */
  timezone: string;
}

export interface FreezeRule {
  from: string;
  to: string;
  reason: string;
}

/** One period during which changes may run, with its opening in the time zone that opened it. */
export interface OpenPeriod {
  opensAt: number;
  closesAt: number;
  timezone: string;
}

/** A freeze longer than this, or windows that never open within it, is read as "no opening". */
const HORIZON_MS = 400 * 24 * 3600_000;
/** Enough steps to walk past every freeze and overlapping window within the horizon. */
const MAX_STEPS = 10_000;
const MAX_DURATION_MS = 31 * 24 * 3600_000;

const DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** An ISO 8601 duration (days, hours, minutes, seconds) in milliseconds; a 400 unless it is positive. */
export function durationMs(duration: string, field: string): number {
  const match = DURATION.exec(duration);
  const [days = 0, hours = 0, minutes = 0, seconds = 0] = (match?.slice(1) ?? []).map((part) => Number(part ?? 0));
  const ms = match && !duration.endsWith('T') ? (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000 : NaN;
  if (!(ms > 0) || ms > MAX_DURATION_MS) {
    throw new InvalidInputError('invalid_duration', `${field} must be a positive ISO 8601 duration of at most 31 days, such as PT2H (got ${JSON.stringify(duration)})`, { field });
  }
  return ms;
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

interface Window {
  cron: Cron;
  durationMs: number;
  timezone: string;
}

interface Freeze {
  from: number;
  to: number;
}

export class MaintenanceWindows {
  private constructor(private readonly windows: readonly Window[], private readonly freezes: readonly Freeze[]) {}

  /**
   * New rules: as parse(), and every window must open again. Stored rules are only parsed: a
   * window whose last opening has passed (a cron with a year) shuts, it does not stop the queue.
   */
  static validate(windows: readonly WindowRule[], freezes: readonly FreezeRule[]): MaintenanceWindows {
    const parsed = MaintenanceWindows.parse(windows, freezes);
    parsed.windows.forEach((w, i) => {
      if (!w.cron.nextRun()) throw new InvalidInputError('invalid_cron', `windows.${i}.cron names no time in the future`, { field: `windows.${i}.cron` });
    });
    return parsed;
  }

  /** Checks every rule (a 400 naming the field of the first bad one) and builds the calendar. */
  static parse(windows: readonly WindowRule[], freezes: readonly FreezeRule[]): MaintenanceWindows {
    const parsed = windows.map((rule, i) => {
      const field = `windows.${i}`;
      if (!isTimeZone(rule.timezone)) {
        throw new InvalidInputError('unknown_time_zone', `${field}.timezone is not a known IANA time zone: ${JSON.stringify(rule.timezone)}`, { field: `${field}.timezone` });
      }
      const cron = parseCron(rule.cron, { field: `${field}.cron`, timezone: rule.timezone });
      return { cron, durationMs: durationMs(rule.duration, `${field}.duration`), timezone: rule.timezone };
    });
    const frozen = freezes.map((rule, i) => {
      const from = Date.parse(rule.from);
      const to = Date.parse(rule.to);
      if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) {
        throw new InvalidInputError('invalid_freeze', `freezes.${i} must end after it starts (from ${rule.from}, to ${rule.to})`, { field: `freezes.${i}.to` });
      }
      return { from, to };
    });
    return new MaintenanceWindows(parsed, frozen);
  }

  /** With no rules at all, an environment is always open. */
  get alwaysOpen(): boolean {
    return !this.windows.length && !this.freezes.length;
  }

  isOpen(t: number): boolean {
    if (this.freezes.some((f) => f.from <= t && t < f.to)) return false;
    return !this.windows.length || this.windows.some((w) => this.windowOpen(w, t));
  }

  /** The first moment at or after `t` when changes may run; null when none comes within the horizon. */
  nextOpening(t: number): number | null {
    for (let at: number | null = t, steps = 0; at !== null && at - t < HORIZON_MS && steps < MAX_STEPS; steps++) {
      // Nothing opens during a freeze: skip to its end rather than step through every opening in it.
      const thawsAt = this.freezes.filter((f) => f.from <= at! && at! < f.to).reduce((end, f) => Math.max(end, f.to), 0);
      if (thawsAt) {
        at = thawsAt;
        continue;
      }
      if (this.isOpen(at)) return at;
      at = this.nextEdge(at, 'opening');
    }
    return null;
  }

  /** The next `count` periods that open after `t` (the one open at `t`, if any, is not among them). */
  openings(t: number, count: number): OpenPeriod[] {
    const periods: OpenPeriod[] = [];
    let from: number | null = this.isOpen(t) ? this.closingAfter(t) : t;
    while (from !== null && periods.length < count) {
      const opensAt = this.nextOpening(from);
      if (opensAt === null) break;
      const closesAt = this.closingAfter(opensAt);
      if (closesAt === null) break;
      const opener = this.windows.find((w) => this.windowOpen(w, opensAt));
      periods.push({ opensAt, closesAt, timezone: opener?.timezone ?? 'UTC' });
      from = closesAt;
    }
    return periods;
  }

  /** When the period open at `t` closes; null when it does not within the horizon. */
  closingAfter(t: number): number | null {
    for (let at: number | null = t, steps = 0; at !== null && at - t < HORIZON_MS && steps < MAX_STEPS; steps++) {
      at = this.nextEdge(at, 'closing');
      if (at !== null && !this.isOpen(at)) return at;
    }
    return null;
  }

  /** A window is open at t when its latest opening is at most t and less than its duration before it. */
  private windowOpen(w: Window, t: number): boolean {
    const opening = w.cron.nextRun(new Date(t - w.durationMs)); // strictly after t - duration
    return opening !== null && opening.getTime() <= t;
  }

  /** The next instant after `t` when openness may change in the given direction. */
  private nextEdge(t: number, direction: 'opening' | 'closing'): number | null {
    const edges: number[] = direction === 'opening'
      ? [...this.windows.map((w) => w.cron.nextRun(new Date(t))?.getTime()), ...this.freezes.map((f) => f.to)].filter((e): e is number => e !== undefined)
      : [
        ...this.windows.filter((w) => this.windowOpen(w, t)).map((w) => w.cron.nextRun(new Date(t - w.durationMs))!.getTime() + w.durationMs),
        ...this.freezes.map((f) => f.from),
      ];
    const later = edges.filter((e) => e > t);
    return later.length ? Math.min(...later) : null;
  }
}

/** `t` as wall-clock time in `timeZone`, with its offset: 2026-03-08T03:00:00-04:00. */
export function localTime(t: number, timeZone: string): string {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'longOffset',
  }).formatToParts(new Date(t)).map((p) => [p.type, p.value]));
  const zone = parts.timeZoneName ?? 'GMT';
  const offset = zone === 'GMT' ? '+00:00' : zone.replace('GMT', '');
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}
