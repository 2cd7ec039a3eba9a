// Repair sessions: an admin with a second factor takes an environment out of the queue's hands
// to repair its state by hand, one audited step at a time. Opening one needs a stack no
// operation holds; while it is open (and used at least every idle period) the environment's
// new operations stay queued. A backup of the state is taken first. Each step is one CLI
// command whose output is returned; it closes with DELETE .../repairs/current, or expires
// when idle, and then the queue goes on.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Actor } from '../auth/actor.js';
import type { Action, Governance } from '../auth/governance.js';
import type { Engine, EngineWorkspaceSource, RepairCommand } from '../engine/types.js';
import { EngineFailure } from '../engine/types.js';
import type { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { ConflictError, DomainError, InvalidInputError, UnprocessableError } from '../errors.js';
import type { OperationRepository } from '../store/operation-repository.js';
import type { RepairRepository, RepairSession } from '../store/repair-repository.js';
import { isUniqueViolation } from '../store/operation-repository.js';
import type { StateBackups } from './state-backups.js';

export const REPAIR_STEPS = ['unlock', 'clear-pending', 'refresh', 'state-delete', 'state-unprotect', 'state-repair'] as const;
export type RepairStep = (typeof REPAIR_STEPS)[number];

export interface RepairStepRequest {
  step: RepairStep;
  /** state-delete, state-unprotect: the resource. */
  urn?: string;
  /**
   * clear-pending: drop pending creates (clear), skip them, or import those that exist: each of
   * `imports`, or the one `urn` under `id`. Pending creates not named are left pending.
   */
  pendingCreates?: 'clear' | 'skip' | 'import';
  id?: string;
  imports?: Array<{ urn: string; id: string }>;
}

export interface RepairOptions {
  idleMs: number;
  /** The program and latest configuration a refresh of the environment reads. */
  source(environment: string): Promise<EngineWorkspaceSource>;
  /** Tells the queue to look for work (after a session closed). */
  kick(): void;
}

export class RepairSessions {
  constructor(
    private readonly repairs: RepairRepository,
    private readonly operations: OperationRepository,
    private readonly backups: StateBackups,
    private readonly engine: Engine,
    private readonly catalog: EnvironmentCatalog,
    private readonly governance: Governance,
    private readonly options: RepairOptions,
  ) {}

  async open(actor: Actor, environment: string, reason: string): Promise<RepairSession> {
    const action = this.action('openRepairSession', environment);
    await this.governance.authorize(actor, action);
    this.catalog.require(environment);
    await this.refuseWhenBusy(actor, action, environment);
    let session: RepairSession;
    try {
      session = await this.governance.act(actor, action, async (tx) => {
        if (await this.repairs.current(environment, Date.now(), tx)) throw openAlready(environment);
        return this.repairs.open(tx, { environment, openedBy: actor.principal, reason, idleUntil: Date.now() + this.options.idleMs });
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw openAlready(environment); // another admin opened one at the same moment
      throw error;
    }
    // An operation claimed between the check and the session would race the repair.
    if (await this.operations.holder(environment)) {
      await this.governance.act(actor, this.action('closeRepairSession', environment), (tx) => this.repairs.close(tx, session.id, 'busy'));
      throw busy(environment);
    }
    const backup = await this.backups.take(environment, null, 'before_repair');
    await this.repairs.recordBackup(session.id, backup.id);
    return { ...session, backupId: backup.id };
  }

  async current(actor: Actor, environment: string): Promise<RepairSession> {
    await this.governance.authorize(actor, { name: 'getRepairSession', target: `environment:${environment}`, environment, permission: 'read' });
    this.catalog.require(environment);
    const session = await this.repairs.current(environment);
    if (!session) throw closed(environment);
    return session;
  }

  /** The open session of someone other than `principal`, if any: it refuses their restores. */
  async openByAnother(environment: string, principal: string): Promise<RepairSession | undefined> {
    const session = await this.repairs.current(environment);
    return session && session.openedBy !== principal ? session : undefined;
  }

  async close(actor: Actor, environment: string): Promise<void> {
    const action = this.action('closeRepairSession', environment);
    await this.governance.authorize(actor, action);
    this.catalog.require(environment);
    const session = await this.repairs.current(environment);
    if (!session) throw closed(environment);
    await this.governance.act(actor, action, async (tx) => {
      if (!(await this.repairs.close(tx, session.id, actor.principal))) throw closed(environment);
    });
    this.options.kick();
  }

  /** Runs one step in the open session of this actor; its output is returned, the step audited. */
  async step(actor: Actor, environment: string, request: RepairStepRequest): Promise<{ step: RepairStep; output: string }> {
    const action = { ...this.action(`repair:${request.step}`, environment), ...(request.urn ? { target: `resource:${request.urn}` } : {}) };
    await this.governance.authorize(actor, action);
    this.catalog.require(environment);
    const session = await this.repairs.current(environment);
    if (!session) throw closed(environment);
    if (session.openedBy !== actor.principal) throw new ConflictError('repair_session_of_another', `the repair session on ${environment} is ${session.openedBy}'s`);
    const command = commandOf(request);
    await this.repairs.touch(session.id, Date.now() + this.options.idleMs);
    // The CLI runs outside any transaction (a long one would hold SQLite's only writer); its record follows.
    let output: string;
    try {
      output = command ? await this.engine.repair(environment, command, await this.options.source(environment)) : await this.unlock(environment);
    } catch (error) {
      const failure = error instanceof DomainError ? error
        : new UnprocessableError('repair_step_failed', error instanceof EngineFailure ? error.message : `the ${request.step} step failed`);
      await this.governance.act(actor, action, async () => { throw failure; }).catch(() => undefined);
      throw failure;
    }
    await this.governance.act(actor, action, async () => undefined);
    await this.repairs.touch(session.id, Date.now() + this.options.idleMs);
    return { step: request.step, output };
  }

  /**
   * Removes the stack's locks only when no engine of this service holds them: no operation
   * holds the stack (the session keeps the queue shut), and no lock names a live process here.
   */
  private async unlock(environment: string): Promise<string> {
    const locks = await this.engine.locks(environment);
    if (locks === undefined) throw new UnprocessableError('locks_unreadable', 'this state backend\'s locks cannot be read, so none is removed');
    if (!locks.length) return 'the stack holds no lock';
    const live = locks.filter((lock) => lock.hostname === hostname() && isPulumi(lock.pid));
    if (live.length) throw new ConflictError('lock_held', `a running Pulumi CLI (pid ${live.map((l) => l.pid).join(', ')}) holds the stack's lock: it is not stale`);
    await this.engine.clearLock(environment);
    return `removed ${locks.length} stale lock(s): ${locks.map((l) => `${l.username}@${l.hostname} pid ${l.pid} since ${l.timestamp}`).join('; ')}`;
  }

  private async refuseWhenBusy(actor: Actor, action: Action, environment: string): Promise<void> {
    if (await this.operations.holder(environment)) throw await this.governance.refuse(actor, action, busy(environment));
  }

  private action(name: string, environment: string): Action {
    return { name, target: `environment:${environment}`, environment, permission: 'admin', secondFactor: true };
  }
}

function commandOf(request: RepairStepRequest): RepairCommand | undefined {
  const urn = () => {
    if (!request.urn) throw new InvalidInputError('urn_required', `the ${request.step} step needs the resource's urn`, { field: 'urn' });
    return request.urn;
  };
  switch (request.step) {
    case 'unlock': return undefined;
    case 'refresh': return { step: 'refresh' };
    case 'clear-pending': {
      const mode = request.pendingCreates ?? 'clear';
      if (mode !== 'import') return { step: 'refresh', pendingCreates: mode };
      if (request.imports?.length) return { step: 'refresh', pendingCreates: { import: request.imports } };
      if (!request.id) throw new InvalidInputError('id_required', 'importing a pending create needs the id the provider gave it (or `imports`, a list of urn and id)', { field: 'id' });
      return { step: 'refresh', pendingCreates: { import: [{ urn: urn(), id: request.id }] } };
    }
    case 'state-delete': return { step: 'state-delete', urn: urn() };
    case 'state-unprotect': return { step: 'state-unprotect', urn: urn() };
    case 'state-repair': return { step: 'state-repair' };
  }
}

/** Whether a live process with this pid is a Pulumi CLI. */
function isPulumi(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('pulumi');
  } catch {
    return false;
  }
}

const closed = (environment: string) => new ConflictError('repair_session_closed', `no repair session is open on ${environment}: open one with POST /v1/environments/${environment}/repairs`);
const openAlready = (environment: string) => new ConflictError('repair_session_open', `a repair session is already open on ${environment}`);
const busy = (environment: string) => new ConflictError('environment_busy', `an operation holds ${environment}: a repair session opens when none does`);
