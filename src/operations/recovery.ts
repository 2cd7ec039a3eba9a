// Recovery of operations whose process died. An operation whose lease expired is fenced first
// (running → recovering, under this process's lease), so the stack stays held while the dead
// runner's engine is stopped and its stale lock cleared; only then does it become
// interrupted and the queue go on. A recovery whose own process dies is taken over the same
// way. Recovery acts as the principal system:recovery and is audited.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { systemActor } from '../auth/actor.js';
import type { Governance } from '../auth/governance.js';
import { isCliAlive } from '../engine/engine-processes.js';
import type { Engine } from '../engine/types.js';
import { ConflictError } from '../errors.js';
import type { ExpiredLease, LeaseRepository } from '../store/lease-repository.js';
import type { OperationRepository } from '../store/operation-repository.js';
import type { Database } from '../store/schema.js';
import type { Operation } from './operation.js';
import type { OperationSignals } from './operation-signals.js';

export interface RecoveryOptions {
  owner: string;
  leaseMs: number;
  /** How long an orphaned CLI gets to stop after its one SIGINT before it is killed (a lease period). */
  cliGraceMs: number;
  /** More writes that commit with an operation's end (the advance notice an interrupted preview was run for). */
  ended?: (tx: Kysely<Database>, operation: Operation) => Promise<void>;
}

const RECOVERY = systemActor('recovery');
const INTERRUPTED = 'the process running this operation stopped before it finished';

export class Recovery {
  private readonly active = new Map<string, Promise<void>>();

  constructor(
    private readonly leases: LeaseRepository,
    private readonly operations: OperationRepository,
    private readonly engine: Engine,
    private readonly governance: Governance,
    private readonly signals: OperationSignals,
    private readonly log: Logger,
    private readonly options: RecoveryOptions,
  ) {}

  /** Fences every operation whose holder stopped renewing, and starts recovering it. */
  async sweep(): Promise<void> {
    for (const expired of await this.leases.expired()) {
      if (this.active.has(expired.id)) continue;
      try {
        if (expired.status === 'running') await this.leases.fence(expired, this.options.owner, this.options.leaseMs);
        else if (!(await this.leases.takeOver(expired, this.options.owner, this.options.leaseMs))) continue;
      } catch (error) {
        if (error instanceof ConflictError) continue; // renewed meanwhile, or fenced by another process
        throw error;
      }
      const log = this.log.child({ operationId: expired.id, environment: expired.environment });
      log.warn({ previousOwner: expired.owner }, 'recovering an operation whose runner stopped renewing its lease');
      this.signals.notify(expired.id);
      const task = this.recover(expired, log)
        .catch((error) => log.error({ err: error }, 'recovery failed; another attempt follows when its lease expires'))
        .finally(() => this.active.delete(expired.id));
      this.active.set(expired.id, task);
    }
  }

  /** Waits for the recoveries under way (shutdown). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.active.values()]);
  }

  private async recover(expired: ExpiredLease, log: Logger): Promise<void> {
    const heartbeat = setInterval(() => {
      void this.leases.renew(expired.id, this.options.owner, this.options.leaseMs).catch((error) => log.warn({ err: error }, 'could not renew the recovery lease'));
    }, Math.max(250, Math.floor(this.options.leaseMs / 3)));
    try {
      await this.governance.recordSystem(RECOVERY, { name: 'recoverOperation', target: `operation:${expired.id}`, environment: expired.environment });
      const engineAt = await this.operations.engineOf(expired.id);
      const host = engineAt?.host ?? hostname();
      if (host === hostname()) {
        await this.stopOrphanedCli(expired.id, log);
        const ended = this.engine.endProcesses(expired.id);
        if (ended.length) log.warn({ ended }, 'ended the dead runner\'s engine processes');
      } else {
        // Processes on another host cannot be seen; a runner that lost its lease stops its own
        // engine within one lease period, so wait that long before judging its lock stale.
        await sleep(this.options.leaseMs);
      }
      const locks = await this.engine.locks(expired.environment);
      const stale = locks === undefined || locks.some((lock) => lock.pid === engineAt?.cliPid && lock.hostname === host);
      if (stale && (locks === undefined || locks.length)) {
        await this.engine.clearLock(expired.environment);
        log.info('cleared the stale stack lock');
      }
      await this.operations.transition(expired.id, {
        from: 'recovering', to: 'interrupted', owner: this.options.owner, set: { error: INTERRUPTED, error_code: 'interrupted' },
        also: async (tx, interrupted) => this.options.ended?.(tx, interrupted),
      });
      log.warn('operation interrupted');
      this.signals.notify(expired.id);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** An orphaned CLI of ours gets one SIGINT (a graceful stop that releases its lock), then a kill. */
  private async stopOrphanedCli(operationId: string, log: Logger): Promise<void> {
    const cli = this.engine.processes(operationId).find((p) => p.command === 'pulumi');
    if (!cli) return;
    log.warn({ pid: cli.pid }, 'the interrupted operation\'s CLI still runs: asking it to stop');
    try {
      process.kill(cli.pid, 'SIGINT');
    } catch {
      return;
    }
    const deadline = Date.now() + this.options.cliGraceMs;
    while (isCliAlive(this.engine.processes(operationId)) && Date.now() < deadline) await sleep(200);
  }
}
