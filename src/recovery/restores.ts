// Running a restore (an operation of kind `restore`, queued by restore-requests.ts): it checks
// the backup again (the file may have changed while the operation waited), backs up the
// current state, imports the backup; its engine run is then a refresh preview, how the
// restored state differs from what really runs. On a protected environment its plan, for
// approval, is what the import would change, resource by resource.
import type { Kysely } from 'kysely';
import type { Engine } from '../engine/types.js';
import type { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { DomainError, UnprocessableError } from '../errors.js';
import type { KindResult } from '../operations/operation-kinds.js';
import type { Operation, PlanView } from '../operations/operation.js';
import { RunRefusal } from '../releases/program-snapshots.js';
import type { StateBackup } from '../store/backup-repository.js';
import type { OutboxRepository } from '../store/outbox-repository.js';
import type { Database } from '../store/schema.js';
import type { StateBackups } from './state-backups.js';
import { foreignUrns, parseStateExport, resourcesOf, stackOutputs, type StateExport } from './state-export.js';

/** How many foreign URNs a refusal names. */
const NAMED = 5;

export class Restores {
  constructor(
    private readonly backups: StateBackups,
    private readonly engine: Engine,
    private readonly catalog: EnvironmentCatalog,
    private readonly outbox: OutboxRepository,
  ) {}

  /**
   * The restore's own step, before its engine run: checks the backup again, backs up the
   * current state, imports the backup. Returns what the restored state holds.
   */
  async importBackup(operation: Operation): Promise<KindResult> {
    const { content, state } = await this.runnable(operation);
    await this.backups.take(operation.environment, operation.id, 'before_restore');
    await this.engine.importState(operation.environment, content);
    return { outputs: stackOutputs(state), resourceCount: resourcesOf(state).length };
  }

  /** What a restore would change in the stack's state, resource by resource: its plan, for approval. */
  async changes(operation: Operation): Promise<PlanView['changes']> {
    const { state } = await this.runnable(operation);
    const current = parseStateExport(await this.engine.exportState(operation.environment));
    const before = new Map(current ? resourcesOf(current).map((r) => [r.urn, r]) : []);
    const after = new Map(resourcesOf(state).map((r) => [r.urn, r]));
    const changes: PlanView['changes'] = [];
    for (const [urn, r] of after) {
      const was = before.get(urn);
      if (!was) changes.push({ urn, type: r.type, op: 'create' });
      else if (JSON.stringify(was) !== JSON.stringify(r)) changes.push({ urn, type: r.type, op: 'update' });
    }
    for (const [urn, r] of before) if (!after.has(urn)) changes.push({ urn, type: r.type, op: 'delete' });
    return changes;
  }

  /** Announces a restore that succeeded, in the transaction that finishes it. */
  async restored(tx: Kysely<Database>, operation: Operation): Promise<void> {
    await this.outbox.append(tx, {
      kind: 'state.restored', environment: operation.environment, operationId: operation.id,
      payload: { backup: operation.spec.restore?.backup ?? null, requestedBy: operation.requestedBy, drift: operation.summary },
    });
  }

  /** The backup the operation restores, checked; a refusal that ends the run when it is not usable. */
  private async runnable(operation: Operation): Promise<{ content: string; state: StateExport }> {
    try {
      const backup = await this.backups.find(operation.environment, operation.spec.restore?.backup ?? '');
      return this.usable(operation.environment, backup);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      throw new RunRefusal(error.code === 'backup_checksum_mismatch' ? 'backup_checksum_mismatch' : 'backup_mismatch', `nothing was restored: ${error.message}`);
    }
  }

  /** The backup's content and state, when it may be restored into `environment`; a 422 naming why not. */
  usable(environment: string, backup: StateBackup): { content: string; state: StateExport } {
    const { content, state } = this.backups.stateOf(backup);
    const foreign = foreignUrns(state, this.catalog.project, environment);
    if (foreign.length) {
      throw new UnprocessableError('backup_mismatch', `backup ${backup.id} holds ${foreign.length} resource(s) of another project or stack `
        + `(${foreign.slice(0, NAMED).join(', ')}${foreign.length > NAMED ? ', ...' : ''}): it cannot be restored into ${environment}`);
    }
    return { content, state };
  }
}
