// What the runner needs from recovery to run one operation: the restore's own step before its
// engine run (import a backup), its plan for approval (what the import would change), the
// backup of the stack's state after every mutating operation ends, whatever its result, and
// what commits with a succeeded restore.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DriftChecks } from '../recovery/drift-checks.js';
import type { Restores } from '../recovery/restores.js';
import type { StateBackups } from '../recovery/state-backups.js';
import type { Database } from '../store/schema.js';
import { kindOf, type KindResult } from './operation-kinds.js';
import type { Operation, PlanView } from './operation.js';

export class StateSteps {
  constructor(private readonly backups: StateBackups, private readonly restores: Restores, private readonly drift: () => DriftChecks) {}

  /** Runs before the engine (not when only planning); for a restore, what the restored state holds. */
  async before(operation: Operation): Promise<KindResult | undefined> {
    return kindOf(operation.type).importsBackup ? this.restores.importBackup(operation) : undefined;
  }

  /** The changes a plan shows, when the kind knows them better than its engine run does. */
  async planChanges(operation: Operation, fromEngine: PlanView['changes']): Promise<PlanView['changes']> {
    return kindOf(operation.type).importsBackup ? this.restores.changes(operation) : fromEngine;
  }

  /**
   * Backs up the state of a stack a mutating operation may have changed. A backup that fails
   * does not fail the operation: it is logged, and the next operation's backup covers it.
   */
  async after(operation: Operation, log: Logger): Promise<void> {
    if (!kindOf(operation.type).mutates) return;
    const started = Date.now();
    try {
      const backup = await this.backups.take(operation.environment, operation.id, 'after_operation');
      log.info({ backup: backup.id, sha256: backup.sha256, ms: Date.now() - started }, 'state backed up');
    } catch (error) {
      log.warn({ err: error }, 'could not back up the stack state after the operation');
    }
  }

  /** Writes that commit with the operation's end, whatever its result; `changes` are those its run reported. */
  async ended(tx: Kysely<Database>, operation: Operation, changes: PlanView['changes']): Promise<void> {
    const kind = kindOf(operation.type);
    if (kind.importsBackup && operation.status === 'succeeded') await this.restores.restored(tx, operation);
    if (kind.detectsDrift) await this.drift().recorded(tx, operation, changes);
  }
}
