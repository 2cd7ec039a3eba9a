// Asking for a restore: an operation of kind `restore`, queued in the stack's FIFO like any
// other, under its lock, and under the approval rules of a protected environment. It is
// refused, with nothing written, when the backup is another environment's, fails its
// checksum, or holds resources of another project or stack.
import type { Actor } from '../auth/actor.js';
import type { Action, Governance } from '../auth/governance.js';
import type { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { ConflictError, DomainError } from '../errors.js';
import { kindOf } from '../operations/operation-kinds.js';
import type { OperationService } from '../operations/operation-service.js';
import type { Operation } from '../operations/operation.js';
import type { ConfigVersions } from '../releases/config-versions.js';
import type { ProgramSnapshots } from '../releases/program-snapshots.js';
import type { Restores } from './restores.js';
import type { StateBackups } from './state-backups.js';

export interface RestoreRequest {
  backup: string;
  message?: string;
}

export class RestoreRequests {
  constructor(
    private readonly backups: StateBackups,
    private readonly restores: Restores,
    private readonly catalog: EnvironmentCatalog,
    private readonly governance: Governance,
    private readonly operations: OperationService,
    private readonly versions: ConfigVersions,
    private readonly programs: ProgramSnapshots,
    private readonly repairs: { openByAnother(environment: string, principal: string): Promise<{ openedBy: string } | undefined> },
  ) {}

  /** Queues a restore of `environment` from one of its backups. */
  async request(actor: Actor, environment: string, request: RestoreRequest): Promise<Operation> {
    const kind = kindOf('restore');
    const action: Action = {
      name: 'restoreState', target: `environment:${environment}`, environment, permission: kind.permission, secondFactor: kind.secondFactor,
    };
    await this.governance.authorize(actor, action);
    this.catalog.require(environment);
    // Checked before the transaction: on SQLite, a read outside it would wait for it forever.
    try {
      const repair = await this.repairs.openByAnother(environment, actor.principal);
      if (repair) throw new ConflictError('repair_session_open', `${repair.openedBy} is repairing ${environment}: a restore waits until that session closes`);
      this.restores.usable(environment, await this.backups.find(environment, request.backup));
    } catch (error) {
      if (error instanceof DomainError) throw await this.governance.refuse(actor, action, error);
      throw error;
    }
    const operation = await this.governance.act(actor, action, async (tx) => {
      const latest = await this.versions.latest(environment, tx);
      return this.operations.queue(tx, actor, environment, {
        type: 'restore', spec: { scope: 'all', restore: { backup: request.backup } }, message: request.message,
        configVersion: latest.version, programDigest: this.programs.current(),
      });
    });
    this.operations.kick();
    return operation;
  }
}
