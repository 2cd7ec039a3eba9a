// Every kind of operation, in one table: what it needs, whether it changes the stack, how the
// engine runs it, and what its result says about the stack. Adding a kind is adding an entry.
import type { Permission } from '../auth/roles.js';
import type { EngineCommand, EngineFlags, EngineOutcome } from '../engine/types.js';
import { scopeTargets } from './scope.js';
import type { OperationSpec, OperationType } from './operation.js';

export interface KindResult {
  /** Stack outputs after the operation (secrets already "[secret]"); null when it does not tell. */
  outputs: Record<string, unknown> | null;
  /** Resources in the stack's state after it; null when it changed none. */
  resourceCount: number | null;
}

export interface OperationKind {
  permission: Permission;
  /**
   * Its engine command starts the program (preview, up); refresh and destroy work from the
   * state alone, so they run even when the program does not compile.
   */
  runsProgram: boolean;
  /** Needs a session opened with a one-time code. */
  secondFactor: boolean;
  /** Changes the stack's resources or state: its state is backed up after it ends. */
  mutates: boolean;
  /** On a protected environment, plans first and waits for approval of the plan. */
  needsApproval: boolean;
  /** Imports a backup's state (spec.restore) before its engine run, after backing up the current one. */
  importsBackup?: boolean;
  /** Its result is the environment's drift: the resources its run would change. */
  detectsDrift?: boolean;
  /**
   * Waits for the environment's maintenance window (scheduled while it is shut), unless an
   * admin bypasses it. `notice` is the kind whose run shows what it will change in the advance
   * notice; without one the notice names no changes.
   */
  windows?: { notice?: OperationType };
  command: EngineCommand;
  flags(spec: OperationSpec, context: { stack: string; project: string }): EngineFlags;
  result(outcome: EngineOutcome, spec: OperationSpec): KindResult;
}

const targeted = (spec: OperationSpec, context: { stack: string; project: string }): EngineFlags =>
  ({ targets: scopeTargets(spec.scope, context.stack, context.project), ...(spec.refresh ? { refresh: true } : {}) });

/** Resources left after a change: everything but what it deleted. */
export function countAfter(summary: Record<string, number>): number {
  return Object.entries(summary).filter(([kind]) => kind !== 'delete' && kind !== 'discard').reduce((n, [, c]) => n + c, 0);
}

export const OPERATION_KINDS: Readonly<Record<OperationType, OperationKind>> = {
  preview: {
    permission: 'operate', runsProgram: true, secondFactor: false, mutates: false, needsApproval: false, command: 'preview', flags: targeted,
    // A preview changes nothing, so it tells nothing new about the stack.
    result: () => ({ outputs: null, resourceCount: null }),
  },
  update: {
    // Rollbacks and promotions are updates: windows hold them too.
    permission: 'operate', runsProgram: true, secondFactor: false, mutates: true, needsApproval: true, command: 'up', flags: targeted, windows: { notice: 'preview' },
    result: ({ summary, outputs }) => ({ outputs: outputs ?? {}, resourceCount: countAfter(summary) }),
  },
  // A refresh changes the state to match what runs, never what runs: windows do not hold it.
  refresh: {
    permission: 'operate', runsProgram: false, secondFactor: false, mutates: true, needsApproval: false, command: 'refresh', flags: targeted,
    result: ({ summary }) => ({ outputs: null, resourceCount: countAfter(summary) }),
  },
  destroy: {
    permission: 'destroy', runsProgram: false, secondFactor: true, mutates: true, needsApproval: true, command: 'destroy', flags: targeted, windows: { notice: 'destroy_preview' },
    // Destroying everything leaves no outputs; a scoped destroy leaves the rest of the stack.
    result: ({ summary }, spec) => (spec.scope === 'all' ? { outputs: {}, resourceCount: 0 } : { outputs: null, resourceCount: countAfter(summary) }),
  },
  restore: {
    // Not held by windows: it changes the state, never the resources, and is a recovery step.
    permission: 'admin', runsProgram: false, secondFactor: true, mutates: true, needsApproval: true, importsBackup: true, command: 'refresh',
    // After the import, a refresh preview: what it would change is how the restored state
    // differs from what really runs. It changes nothing itself.
    flags: () => ({ previewOnly: true }),
    // The restored state's outputs and resources come from the backup, not from this run.
    result: () => ({ outputs: null, resourceCount: null }),
  },
  destroy_preview: {
    // What a scheduled destroy will delete, for its advance notice: a destroy that only previews.
    permission: 'operate', runsProgram: false, secondFactor: false, mutates: false, needsApproval: false, command: 'destroy',
    flags: (spec, context) => ({ ...targeted(spec, context), previewOnly: true }),
    result: () => ({ outputs: null, resourceCount: null }),
  },
  drift_check: {
    // A refresh preview reads every resource and changes nothing: what it would change is the drift.
    permission: 'operate', runsProgram: false, secondFactor: false, mutates: false, needsApproval: false, detectsDrift: true, command: 'refresh',
    flags: () => ({ previewOnly: true }),
    result: () => ({ outputs: null, resourceCount: null }),
  },
};

export function kindOf(type: OperationType): OperationKind {
  return OPERATION_KINDS[type];
}
