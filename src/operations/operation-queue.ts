// The worker side of the queue: claims queued operations (FIFO per environment, at most one
// holding each environment, up to a parallel limit), runs them, has recovery fence and clean
// up operations whose runner died, and drains on shutdown. Claims go through the database, so
// any number of service processes can share one queue.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { LeaseRepository } from '../store/lease-repository.js';
import type { OperationRunner } from './operation-runner.js';
import type { OperationSignals } from './operation-signals.js';
import { OPERATION_KINDS } from './operation-kinds.js';
import type { Recovery } from './recovery.js';

/** Operations that change nothing: they never wait behind an operation awaiting approval. */
const READ_ONLY_TYPES = Object.entries(OPERATION_KINDS).filter(([, kind]) => !kind.mutates).map(([type]) => type);

export interface QueueOptions {
  environments: readonly string[];
  maxParallel: number;
  leaseMs: number;
  pollMs: number;
  /** Work done on each tick besides claiming (expiring approvals...). */
  housekeeping?: () => Promise<void>;
  /** Environments whose maintenance window is shut now: changes the windows hold wait there. */
  shut?: () => Promise<readonly string[]>;
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
    private readonly leases: LeaseRepository,
    private readonly runner: OperationRunner,
    private readonly recovery: Recovery,
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

  private async tick(): Promise<void> {
    await this.recovery.sweep();
    await this.options.housekeeping?.().catch((error) => this.log.warn({ err: error }, 'housekeeping failed'));
    // Read once per tick: a window that shuts meanwhile stops claims from the next tick on.
    const shut = (await this.options.shut?.()) ?? [];
    while (!this.draining && this.running.size < this.options.maxParallel) {
      const operation = await this.leases.claim(this.owner, this.options.leaseMs, this.options.environments, READ_ONLY_TYPES, shut);
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
   * Stops claiming, gives running operations `graceMs` to finish, then cancels them (one
   * SIGINT each) and waits until every engine process has ended and its result is written.
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
    await this.recovery.settle();
  }
}
