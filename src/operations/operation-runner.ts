// Runs one claimed operation through the engine: keeps its lease alive (and stops the engine
// when the lease cannot be kept), turns a cancel request into exactly one abort (one SIGINT to
// the CLI), records events and output, cleans up after an engine that was killed, and writes
// the final state once every event is stored. On a protected environment an update or destroy
// runs twice: first it plans and waits for approval (holding no process), then it applies the
// approved plan, after ReleaseSteps has checked that the plan is not stale.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { EngineFailure, type Engine, type EngineOutcome } from '../engine/types.js';
import type { EventLog } from '../store/event-log.js';
import type { Database } from '../store/schema.js';
import type { LeaseRepository } from '../store/lease-repository.js';
import type { OperationRepository, Transition } from '../store/operation-repository.js';
import { ConflictError } from '../errors.js';
import { EventRecorder } from './event-recorder.js';
import { OperationTimeline } from './operation-timeline.js';
import { kindOf, type KindResult } from './operation-kinds.js';
import type { OperationSignals } from './operation-signals.js';
import { APPROVAL_EVENT, type ErrorCode, type Operation, type PlanView } from './operation.js';
import { plannedChange, type ReleaseSteps } from './release-steps.js';
import type { StateSteps } from './state-steps.js';
import { driftedChange } from '../recovery/drift-events.js';
import { RunRefusal } from '../releases/program-snapshots.js';

export interface RunnerOptions {
  owner: string;
  leaseMs: number;
  /** Keep the engine's debug diagnostics for every operation. */
  debugEvents: boolean;
  /** Where an operation's events wait, past a memory bound, while the database is away. */
  spoolDir: string;
  /** Tells other replicas that an operation's events grew (PostgreSQL NOTIFY). */
  announce?: (operationId: string) => void;
  /** More writes that commit with an operation's end (the advance notice a preview was run for). */
  ended?: (tx: Kysely<Database>, operation: Operation) => Promise<void>;
}

export class OperationRunner {
  constructor(
    private readonly operations: OperationRepository,
    private readonly leases: LeaseRepository,
    private readonly eventLog: EventLog,
    private readonly engine: Engine,
    private readonly catalog: EnvironmentCatalog,
    private readonly signals: OperationSignals,
    private readonly steps: ReleaseSteps,
    private readonly options: RunnerOptions,
    private readonly state: StateSteps,
  ) {}

  /** Runs the operation to its end. `stop` aborts it from outside (shutdown). */
  async run(operation: Operation, log: Logger, stop: AbortSignal): Promise<void> {
    const { owner, leaseMs } = this.options;
    const timeline = new OperationTimeline();
    timeline.mark('runnerStarted');
    const abort = new AbortController();
    const cancel = (why: string) => {
      if (abort.signal.aborted) return; // one SIGINT only: a second may orphan resources
      log.info({ why }, 'cancelling operation');
      abort.abort();
    };
    const onStop = () => cancel('service shutting down');
    stop.addEventListener('abort', onStop, { once: true });
    if (stop.aborted) onStop();

    let leaseLost = false;
    let renewedAt = Date.now();
    const heartbeat = setInterval(async () => {
      try {
        const lease = await this.leases.renew(operation.id, owner, leaseMs);
        if (!lease.held) {
          leaseLost = true;
          cancel('lease lost: another process is recovering this operation');
        } else {
          renewedAt = Date.now();
          if (lease.cancelRequested) cancel('cancel requested');
        }
      } catch (error) {
        log.warn({ err: error }, 'lease renewal failed');
        // Past its lease another process may fence this operation: the engine must not go on.
        if (Date.now() - renewedAt >= leaseMs) {
          leaseLost = true;
          cancel('lease expired: it could not be renewed');
        }
      }
    }, Math.max(250, Math.floor(leaseMs / 3)));

    const kind = kindOf(operation.type);
    const phase = this.steps.phaseOf(operation);
    const recorder = new EventRecorder(operation.id, this.eventLog, this.signals, log, {
      keepDebug: this.options.debugEvents || operation.spec.debug === true, announce: this.options.announce,
      spoolFile: join(this.options.spoolDir, `${operation.id}.jsonl`),
      after: phase === 'apply' ? await this.eventLog.positions(operation.id) : undefined,
    });
    let outcome: EngineOutcome | undefined;
    let failure: EngineFailure | RunRefusal | undefined;
    let stateDigest = '';
    let changes: PlanView['changes'] = [];
    let restored: KindResult | undefined;
    try {
      await this.operations.recordEngine(operation.id, owner, {
        pulumiVersion: this.engine.version, host: hostname(), pid: process.pid,
        warnings: await this.pendingOperationWarnings(operation, log),
      });
      const source = await this.steps.source(operation);
      if (phase === 'apply') await this.steps.checkFresh(operation);
      if (phase === 'plan') stateDigest = await this.steps.stateDigest(operation.environment);
      else restored = await this.state.before(operation);
      const base = kind.flags(operation.spec, { stack: operation.environment, project: this.catalog.project });
      outcome = await this.engine.run({
        environment: operation.environment,
        command: phase === 'plan' && operation.type === 'update' ? 'preview' : kind.command,
        flags: await this.steps.flags(operation, phase, base),
        source,
        message: operation.message ?? undefined,
        operationId: operation.id,
        signal: abort.signal,
        onSpawn: (pid) => {
          timeline.mark('cliSpawned');
          this.operations.recordCliPid(operation.id, owner, pid).catch((error: unknown) => log.warn({ err: error }, 'could not record the CLI pid'));
        },
        onEvent: (event) => {
          const change = kind.detectsDrift ? driftedChange(event) : plannedChange(event);
          if (change) changes.push(change);
          recorder.event(event);
        },
        onOutput: (text) => recorder.text(text),
      });
      if (phase === 'plan') changes = await this.state.planChanges(operation, changes);
    } catch (error) {
      if (error instanceof RunRefusal) failure = error;
      else failure = error instanceof EngineFailure ? error : new EngineFailure('engine_failed', 'the operation failed before the engine could report why');
      if (!(error instanceof EngineFailure) && !(error instanceof RunRefusal)) log.error({ err: error }, 'operation failed unexpectedly');
      if (failure.code === 'engine_killed') await this.afterKilledEngine(operation, log);
    } finally {
      timeline.mark('engineEnded');
      clearInterval(heartbeat);
      stop.removeEventListener('abort', onStop);
    }
    // The plan file goes into the database with the wait for approval; no copy stays on disk.
    const planned = phase === 'plan' && outcome && !leaseLost ? this.steps.planned(operation, outcome.summary, changes, stateDigest) : undefined;
    this.steps.removePlanFile(operation);
    if (planned) recorder.event({ type: APPROVAL_EVENT, payload: { status: 'awaiting_approval', ...planned.view } });
    await recorder.flush();
    if (leaseLost) {
      log.warn('lease lost: the process that fenced this operation ends it');
      return;
    }
    if (planned) {
      // No engine runs from here until someone approves: the stack stays held by this row alone.
      await this.finish(operation.id, {
        from: 'running', to: 'awaiting_approval', owner,
        set: { summary: JSON.stringify(outcome!.summary), plan: JSON.stringify(planned.view), awaiting_since: Date.now(), lease_owner: null, lease_expires_at: null },
        also: (tx, waiting) => this.steps.awaiting(tx, waiting, planned),
      }, log);
      log.info('plan saved: awaiting approval');
      this.signals.notify(operation.id);
      return;
    }
    // A plan that failed changed nothing; every other end of a mutating kind is backed up.
    if (phase !== 'plan') {
      await this.state.after(operation, log);
      timeline.mark('backedUp');
    }
    const cancelled = abort.signal.aborted || failure?.code === 'cancelled';
    const code: ErrorCode | null = failure ? (cancelled ? 'cancelled' : failure.code) : null;
    const result = restored ?? (outcome && kind.result(outcome, operation.spec));
    const ended = await this.finish(operation.id, {
      from: 'running', to: !failure ? 'succeeded' : cancelled ? 'cancelled' : 'failed', owner,
      set: {
        summary: outcome ? JSON.stringify(outcome.summary) : null,
        outputs: result?.outputs ? JSON.stringify(result.outputs) : null,
        resource_count: result?.resourceCount ?? null,
        error: failure ? (cancelled ? 'the operation was cancelled' : failure.message) : null,
        error_code: code,
      },
      also: async (tx, ended) => {
        if (!failure) await this.steps.succeeded(tx, ended);
        await this.state.ended(tx, ended, changes);
        await this.options.ended?.(tx, ended);
      },
    }, log);
    timeline.mark('finished');
    log.info({ status: ended?.status, errorCode: code, timeline }, 'operation finished');
    this.signals.notify(operation.id);
  }

  /**
   * Writes the final status (every earlier event is stored by now), retrying while the
   * database is away; a conflict means the operation is no longer ours (recovery fenced it).
   */
  private async finish(id: string, change: Transition, log: Logger): Promise<Operation | undefined> {
    for (let wait = 100; ; wait = Math.min(wait * 2, 5000)) {
      try {
        return await this.operations.transition(id, change);
      } catch (error) {
        if (error instanceof ConflictError) {
          log.warn({ err: error }, 'the operation was no longer this process\'s to finish');
          return undefined;
        }
        log.warn({ err: error }, 'could not write the final status yet: retrying');
        await sleep(wait);
      }
    }
  }

  /**
   * The CLI died on its own (a kill -9, an out-of-memory kill): its plugins may live on and
   * its lock stays. Its processes are ended, and its lock removed only when the lock's holder
   * is that dead CLI: someone else's lock is never broken.
   */
  private async afterKilledEngine(operation: Operation, log: Logger): Promise<void> {
    const ended = this.engine.endProcesses(operation.id);
    if (ended.length) log.warn({ pids: ended.map((p) => p.pid) }, 'ended the killed engine\'s remaining processes');
    const cliPid = (await this.operations.engineOf(operation.id))?.cliPid;
    const locks = await this.engine.locks(operation.environment);
    if (locks?.some((lock) => lock.pid === cliPid && lock.hostname === hostname())) {
      await this.engine.clearLock(operation.environment);
      log.warn({ pid: cliPid }, 'removed the stack lock the killed CLI left');
    }
  }

  /**
   * A dead engine can leave half-done steps in the state; the next operation says so. Only
   * looked for after an interrupted or failed operation: reading the state costs a CLI run.
   */
  private async pendingOperationWarnings(operation: Operation, log: Logger): Promise<string[]> {
    const previous = await this.operations.lastFinishedStatus(operation.environment);
    if (previous !== 'interrupted' && previous !== 'failed') return [];
    try {
      const pending = await this.engine.pendingOperations(operation.environment);
      return pending.map((p) => `an earlier run left a pending ${p.type} on ${p.urn}`);
    } catch (error) {
      log.debug({ err: error }, 'could not read pending operations');
      return [];
    }
  }
}
