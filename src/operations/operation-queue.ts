// The worker side of the queue: claims queued operations (FIFO per environment, at most one
// running per environment, up to a parallel limit), runs them, recovers operations whose
// runner died, and drains on shutdown. Claims go through the database, so any number of
// service processes can share one queue.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Engine } from '../engine/types.js';
import { engineProcesses, isEngineAlive } from '../engine/engine-processes.js';
import type { OperationStore } from '../store/operation-store.js';
import type { OperationRunner } from './operation-runner.js';
import type { OperationSignals } from './operation-signals.js';

export interface QueueOptions {
  environments: readonly string[];
  maxParallel: number;
  leaseMs: number;
  pollMs: number;
}

export function newOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

export class OperationQueue {
  private readonly running = new Map<string, Promise<void>>();
  private readonly stop = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private draining = false;

  constructor(
    private readonly owner: string,
    private readonly store: OperationStore,
    private readonly engine: Engine,
    private readonly runner: OperationRunner,
    private readonly signals: OperationSignals,
    private readonly log: Logger,
    private readonly options: QueueOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.pollMs);
    this.kick();
  }

  /** Looks for work now (after an enqueue, or when a run ends) rather than at the next poll. */
  kick(): void {
    if (this.draining) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = this.tick()
      .catch((error) => this.log.error({ err: error }, 'queue tick failed'))
      .finally(() => {
        this.ticking = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  get activeCount(): number {
    return this.running.size;
  }

  private async tick(): Promise<void> {
    await this.recoverExpired();
    while (!this.draining && this.running.size < this.options.maxParallel) {
      const now = Date.now();
      const operation = await this.store.claim(this.owner, now + this.options.leaseMs, now, this.options.environments);
      if (!operation) return;
      const log = this.log.child({ operationId: operation.id, environment: operation.environment, type: operation.type });
      log.info('operation started');
      this.signals.notify(operation.id);
      const run = this.runner.run(operation, log, this.stop.signal)
        .catch((error) => log.error({ err: error }, 'runner failed'))
        .finally(() => {
          this.running.delete(operation.id);
          this.kick();
        });
      this.running.set(operation.id, run);
    }
  }

  /**
   * An operation whose lease expired lost its runner. It is marked interrupted; the stack's
   * Pulumi lock is cleared only when the operation's CLI is no longer alive here (a live one
   * holds the lock rightfully and releases it when it ends). Processes on another host cannot
   * be seen: there the expired lease is taken as proof that they are gone.
   */
  private async recoverExpired(): Promise<void> {
    for (const expired of await this.store.expiredLeases(Date.now())) {
      if (!(await this.store.markInterrupted(expired.id, expired.owner, expired.expiresAt, Date.now()))) continue;
      const log = this.log.child({ operationId: expired.id, environment: expired.environment });
      log.warn({ previousOwner: expired.owner }, 'operation interrupted: its runner stopped renewing its lease');
      this.signals.notify(expired.id);
      const local = expired.host === null || expired.host === hostname();
      const processes = local ? engineProcesses(expired.id) : [];
      if (isEngineAlive(processes)) {
        log.warn({ pids: processes.map((p) => p.pid) }, 'the CLI of the interrupted operation still runs; its lock is left to it');
        continue;
      }
      // Plugins (language host, program, providers) live in process groups of their own and
      // can outlive a killed CLI; with their engine gone they can only hold resources.
      for (const orphan of processes) {
        try {
          process.kill(orphan.pid, 'SIGKILL');
          log.warn({ pid: orphan.pid, command: orphan.command }, 'ended an orphaned engine plugin');
        } catch {
          // already gone
        }
      }
      try {
        await this.engine.clearLock(expired.environment);
        log.info('cleared the stale stack lock');
      } catch (error) {
        log.error({ err: error }, 'could not clear the stale stack lock');
      }
    }
  }

  /**
   * Stops claiming, gives running operations `graceMs` to finish, then cancels them (one
   * SIGINT each) and waits until every engine process has ended.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    clearInterval(this.timer);
    await this.ticking;
    const all = () => Promise.allSettled([...this.running.values()]);
    const graceOver = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
    if ((await Promise.race([all().then(() => 'done' as const), graceOver])) === 'timeout') {
      this.log.warn({ running: [...this.running.keys()] }, 'grace period over: cancelling running operations');
      this.stop.abort();
      await all();
    }
  }
}
