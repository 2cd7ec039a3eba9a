// Each environment's status as the API shows it: its last operation, who holds its lock,
// and what its stack holds (resource count, outputs with secrets redacted) as of the last
// operations that learnt them.
import type { OperationStore } from '../store/operation-store.js';
import type { Operation } from '../operations/operation.js';
import type { EnvironmentCatalog } from './environment-catalog.js';

export interface EnvironmentStatus {
  name: string;
  stack: string;
  project: string;
  status: 'idle' | 'running' | 'queued';
  lastOperation: Operation | null;
  lock: { operationId: string; requestedBy: string; since: string | null } | null;
  resourceCount: number | null;
  outputs: Record<string, unknown> | null;
}

export class EnvironmentService {
  constructor(private readonly catalog: EnvironmentCatalog, private readonly store: OperationStore) {}

  list(visible: (name: string) => boolean = () => true): Promise<EnvironmentStatus[]> {
    return Promise.all(this.catalog.names.filter(visible).map((name) => this.status(name)));
  }

  async get(name: string): Promise<EnvironmentStatus> {
    return this.status(this.catalog.require(name));
  }

  private async status(name: string): Promise<EnvironmentStatus> {
    const [last, running, withOutputs, withCount] = await Promise.all([
      this.store.latest(name), this.store.running(name),
      this.store.latestWith(name, 'outputs'), this.store.latestWith(name, 'resource_count'),
    ]);
    return {
      name,
      stack: name,
      project: this.catalog.project,
      status: running ? 'running' : last?.status === 'queued' ? 'queued' : 'idle',
      lastOperation: last ?? null,
      lock: running ? { operationId: running.id, requestedBy: running.requestedBy, since: running.startedAt } : null,
      resourceCount: withCount?.resourceCount ?? null,
      outputs: withOutputs?.outputs ?? null,
    };
  }
}
