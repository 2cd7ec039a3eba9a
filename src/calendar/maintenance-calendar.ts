// Maintenance windows per environment: the rules (set by its admins, audited), what they mean
// now (open or shut, the next openings), and what they do to operations. A change whose kind
// windows hold (operation-kinds.ts) and that is asked for while its environment's window is
// shut is scheduled, not queued, with notBefore = the next opening; it is claimed only while
// the window is open (LeaseRepository.claim is told which environments are shut), so nothing
// in memory decides it and a restart loses nothing. An admin with a second factor may bypass
// the window, giving a reason the audit trail keeps. An environment without rules is open.
import type { Kysely } from 'kysely';
import type { Actor } from '../auth/actor.js';
import type { Action, Governance } from '../auth/governance.js';
import type { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { ConflictError, InvalidInputError } from '../errors.js';
import { kindOf } from '../operations/operation-kinds.js';
import type { Hold } from '../operations/operation-service.js';
import type { Operation, OperationType } from '../operations/operation.js';
import type { CalendarRepository, CalendarRules } from '../store/calendar-repository.js';
import type { OperationRepository } from '../store/operation-repository.js';
import { isoTime } from '../store/rows.js';
import type { Database } from '../store/schema.js';
import { MaintenanceWindows, localTime, type FreezeRule, type WindowRule } from './maintenance-windows.js';
import type { MaintenanceNotices } from './maintenance-notices.js';

export const DEFAULT_NOTICE_HOURS = 24;
/** How many openings the calendar shows. */
const SHOWN_OPENINGS = 5;
/** A held change is not started this close to its window shutting: it would run past it. */
const SHUTTING_MS = 1000;

export interface CalendarRequest {
  windows: WindowRule[];
  freezes?: FreezeRule[];
  noticeHours?: number;
}

export interface Opening {
  opensAt: string;
  closesAt: string;
  timezone: string;
  /** The same two times on the wall clock of `timezone`, with its offset. */
  local: { opensAt: string; closesAt: string };
}

export interface CalendarView {
  environment: string;
  windows: WindowRule[];
  freezes: FreezeRule[];
  noticeHours: number;
  open: boolean;
  nextOpenings: Opening[];
  updatedBy: string | null;
  updatedAt: string | null;
}

export class MaintenanceCalendar {
  constructor(
    private readonly calendars: CalendarRepository,
    private readonly operations: OperationRepository,
    private readonly catalog: EnvironmentCatalog,
    private readonly governance: Governance,
    private readonly notices: MaintenanceNotices,
    private readonly kick: () => void,
  ) {}

  async view(actor: Actor, environment: string, now = Date.now()): Promise<CalendarView> {
    await this.governance.authorize(actor, { name: 'getMaintenanceWindows', target: `environment:${environment}`, environment, permission: 'read' });
    this.catalog.require(environment);
    return this.describe(environment, await this.calendars.get(environment), now);
  }

  /** Replaces the environment's rules (checked first: a bad rule is a 400 and nothing is written). */
  async set(actor: Actor, environment: string, request: CalendarRequest): Promise<CalendarView> {
    const action: Action = { name: 'setMaintenanceWindows', target: `environment:${environment}`, environment, permission: 'admin' };
    await this.governance.authorize(actor, action);
    this.catalog.require(environment);
    const freezes = request.freezes ?? [];
    MaintenanceWindows.validate(request.windows, freezes);
    await this.governance.act(actor, action, (tx) => this.calendars.save(tx, {
      environment, windows: request.windows, freezes, noticeHours: request.noticeHours ?? DEFAULT_NOTICE_HOURS, updatedBy: actor.principal,
    }));
    // Operations already waiting follow the new rules at once.
    const rules = (await this.calendars.get(environment))!;
    await this.reconcile(rules, Date.now());
    this.kick();
    return this.describe(environment, rules, Date.now());
  }

  /** Every scheduled operation in the environments the actor can read, soonest first. */
  async maintenance(actor: Actor): Promise<Operation[]> {
    return this.calendars.scheduled(this.catalog.names.filter((name) => this.governance.canRead(actor, name)));
  }

  /**
   * Decides, inside the transaction that queues it, whether an operation waits for its window.
   * A bypass needs a reason and an admin of the environment with a second factor; it is
   * recorded in the audit trail with its reason, in the same transaction.
   */
  async hold(tx: Kysely<Database>, actor: Actor, environment: string, type: OperationType, bypass: { reason?: string } | undefined, now = Date.now()): Promise<Hold> {
    if (bypass !== undefined) {
      const reason = bypass.reason?.trim();
      if (!reason) {
        throw new InvalidInputError('bypass_reason_required', 'bypassWindow.reason is required: say why this change cannot wait for the maintenance window', { field: 'bypassWindow.reason' });
      }
      const action: Action = { name: 'bypassMaintenanceWindow', target: `environment:${environment}`, environment, permission: 'admin', secondFactor: true };
      const refused = this.governance.refusal(actor, action);
      if (refused) throw refused;
      await this.governance.recordWithReason(actor, action, reason, tx);
      return { held: false, spec: { bypassWindow: { reason } } };
    }
    if (!kindOf(type).windows) return { held: false };
    const rules = await this.calendars.get(environment, tx);
    const windows = rules && MaintenanceWindows.parse(rules.windows, rules.freezes);
    if (!windows || windows.isOpen(now)) return { held: true };
    return { held: true, schedule: schedule(windows, rules.noticeHours, now) };
  }

  /** In the transaction that scheduled it: the first advance notice. */
  async scheduled(tx: Kysely<Database>, operation: Operation): Promise<void> {
    await this.notices.announce(tx, operation, 'scheduled', operation.notBefore ? Date.parse(operation.notBefore) : null);
  }

  /** Environments whose window is shut now, or shuts within a moment: held changes do not start there. */
  async shut(now = Date.now()): Promise<string[]> {
    const shut: string[] = [];
    for (const rules of await this.calendars.all()) {
      const windows = MaintenanceWindows.parse(rules.windows, rules.freezes);
      if (!windows.isOpen(now) || !windows.isOpen(now + SHUTTING_MS)) shut.push(rules.environment);
    }
    return shut;
  }

  /**
   * On every queue tick: statuses follow the windows (scheduled → queued when one opens, a held
   * change still queued → scheduled when it shuts), and second notices that are due go out.
   */
  async sweep(now = Date.now()): Promise<void> {
    const all = (await this.calendars.all()).filter((rules) => this.catalog.has(rules.environment));
    for (const rules of all) await this.reconcile(rules, now);
    const hours = new Map(all.map((rules) => [rules.environment, rules.noticeHours]));
    await this.notices.sweep(now, (environment) => hours.get(environment));
  }

  private async reconcile(rules: CalendarRules, now: number): Promise<void> {
    const windows = MaintenanceWindows.parse(rules.windows, rules.freezes);
    if (windows.isOpen(now)) {
      for (const operation of await this.calendars.held(rules.environment, 'scheduled')) {
        await ignoreLostRace(this.operations.transition(operation.id, { from: 'scheduled', to: 'queued', now }));
      }
      return;
    }
    const next = schedule(windows, rules.noticeHours, now);
    for (const operation of await this.calendars.held(rules.environment, 'queued')) {
      await ignoreLostRace(this.operations.transition(operation.id, {
        from: 'queued', to: 'scheduled', now, set: { not_before: next.notBefore, upcoming_notice_at: next.upcomingNoticeAt },
        also: (tx, scheduled) => this.scheduled(tx, scheduled),
      }));
    }
    // Rules changed, or an operation waited through a whole opening (its stack was busy).
    for (const operation of await this.calendars.held(rules.environment, 'scheduled')) {
      if (operation.notBefore !== isoTime(next.notBefore)) await this.calendars.reschedule(operation.id, next.notBefore);
    }
  }

  private describe(environment: string, rules: CalendarRules | undefined, now: number): CalendarView {
    const windows = MaintenanceWindows.parse(rules?.windows ?? [], rules?.freezes ?? []);
    return {
      environment, windows: rules?.windows ?? [], freezes: rules?.freezes ?? [], noticeHours: rules?.noticeHours ?? DEFAULT_NOTICE_HOURS,
      open: windows.isOpen(now),
      nextOpenings: windows.openings(now, SHOWN_OPENINGS).map((p) => ({
        opensAt: isoTime(p.opensAt)!, closesAt: isoTime(p.closesAt)!, timezone: p.timezone,
        local: { opensAt: localTime(p.opensAt, p.timezone), closesAt: localTime(p.closesAt, p.timezone) },
      })),
      updatedBy: rules?.updatedBy ?? null, updatedAt: rules?.updatedAt ?? null,
    };
  }
}

/** When a change asked for at `now` may start, and whether its second notice is still to come. */
function schedule(windows: MaintenanceWindows, noticeHours: number, now: number): { notBefore: number | null; upcomingNoticeAt: number | null } {
  const notBefore = windows.nextOpening(now);
  // When the window opens within the notice period, the first notice is the only one.
  const upcomingNoticeAt = notBefore === null || notBefore - noticeHours * 3600_000 <= now ? now : null;
  return { notBefore, upcomingNoticeAt };
}

/** Another replica (or a cancel) changed the operation first: it is no longer this sweep's to move. */
async function ignoreLostRace(change: Promise<unknown>): Promise<void> {
  await change.catch((error: unknown) => {
    if (!(error instanceof ConflictError)) throw error;
  });
}
