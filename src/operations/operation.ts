// An operation is a row, never a promise held in memory: what was asked, by whom, and what
// happened. This file holds the domain's own words for it: its types, scopes, states and the
// only transitions between them (enforced by the store's one transition function), change
// summaries, the error codes a failure is reported with, and the event that ends its stream.

export const OPERATION_TYPES = ['preview', 'update', 'refresh', 'destroy', 'restore', 'drift_check', 'destroy_preview'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

/** The types a caller queues directly (POST .../operations); the others have routes of their own. */
export const DIRECT_OPERATION_TYPES = ['preview', 'update', 'refresh', 'destroy'] as const satisfies readonly OperationType[];

/** Which layer of the program an operation touches. */
export const SCOPES = ['all', 'infrastructure', 'workloads'] as const;
export type Scope = (typeof SCOPES)[number];

export const STATUSES = [
  'scheduled', 'queued', 'running', 'awaiting_approval', 'recovering', 'succeeded', 'failed', 'cancelled', 'interrupted', 'rejected', 'expired',
] as const;
export type OperationStatus = (typeof STATUSES)[number];

export const FINISHED_STATUSES: ReadonlySet<OperationStatus> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted', 'rejected', 'expired']);

/**
 * queued → running → succeeded | failed | cancelled; queued → cancelled. A running operation
 * whose runner died is fenced first (recovering: it keeps the stack while its processes are
 * ended and its stale lock cleared), and only then interrupted. On a protected environment an
 * update or destroy first plans (running → awaiting_approval, with no engine running), then is
 * approved (→ queued, to apply its saved plan), rejected, expired or cancelled. A change that
 * maintenance windows hold is scheduled while its environment's window is shut (queued ⇄
 * scheduled as windows open and close); it is claimed only while the window is open.
 */
export const TRANSITIONS: Readonly<Record<OperationStatus, readonly OperationStatus[]>> = {
  scheduled: ['queued', 'running', 'cancelled'],
  queued: ['running', 'cancelled', 'scheduled'],
  running: ['succeeded', 'failed', 'cancelled', 'recovering', 'awaiting_approval'],
  awaiting_approval: ['queued', 'rejected', 'expired', 'cancelled'],
  recovering: ['interrupted'],
  succeeded: [],
  failed: [],
  cancelled: [],
  interrupted: [],
  rejected: [],
  expired: [],
};

/** States that hold the stack: at most one operation per environment is in one of them. */
export const HOLDING_STATUSES: readonly OperationStatus[] = ['running', 'recovering'];

/** Why an operation did not succeed, as a stable code. */
export const ERROR_CODES = [
  'locked', 'cancelled', 'plugin_missing', 'program_failed', 'resource_failed', 'engine_failed', 'engine_killed', 'interrupted',
  'plan_stale', 'plan_violated', 'rejected', 'approval_expired', 'dependencies_changed', 'program_missing', 'program_build_failed',
  'backup_mismatch', 'backup_checksum_mismatch',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Resource counts by change kind, as the engine reports them (create, update, delete, replace, same...). */
export type ChangeSummary = Record<string, number>;

/** What an operation was asked to do beyond its type. */
export interface OperationSpec {
  scope: Scope;
  /** Keep the engine's debug diagnostics in the event stream (off by default: they are noise). */
  debug?: boolean;
  /** A rollback: the release it returns to, and the one it rolls away from. */
  rollback?: { to: string; from: string | null; emergency: boolean; automatic?: { reason: string } };
  /** A promotion: the environment and release it came from. */
  promotion?: { from: string; release: string };
  /** A restore: the backup whose state it imports. */
  restore?: { backup: string };
  /** Refresh the state before the update (--refresh). */
  refresh?: boolean;
  /** A remediation: the drift check whose drift it corrects. */
  remediates?: string;
  /** Run whatever the maintenance window says: an admin's emergency, with its reason. */
  bypassWindow?: { reason: string };
  /** A preview run for the advance notice of a scheduled operation. */
  notice?: { operation: string; notice: MaintenanceNoticeKind; notBefore: string | null };
}

/** The first notice goes when an operation is scheduled, the second some hours before its window opens. */
export type MaintenanceNoticeKind = 'scheduled' | 'upcoming';

/** A saved plan, as an operation awaiting approval shows it. */
export interface PlanView {
  summary: ChangeSummary;
  /** The resources the plan changes, with how. */
  changes: Array<{ urn: string; type: string; op: string }>;
  configVersion: number;
  programDigest: string;
  /** sha256 of the stack's exported state when the plan was made. */
  stateDigest: string;
  plannedAt: string;
  approvals: Array<{ principal: string; decision: 'approve' | 'reject'; comment: string | null; at: string }>;
  approvalsNeeded: number;
  expiresAt: string;
}

export interface Operation {
  id: string;
  environment: string;
  type: OperationType;
  spec: OperationSpec;
  message: string | null;
  status: OperationStatus;
  requestedBy: string;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  cancelRequested: boolean;
  summary: ChangeSummary | null;
  outputs: Record<string, unknown> | null;
  resourceCount: number | null;
  warnings: string[];
  error: string | null;
  errorCode: ErrorCode | null;
  pulumiVersion: string | null;
  /** The configuration version it runs with. */
  configVersion: number | null;
  /** sha256 of the program it runs (Pulumi.yaml, programs/, package.json, package-lock.json). */
  programDigest: string | null;
  /** On a protected environment: the saved plan it applies, once planned. */
  plan: PlanView | null;
  /** While scheduled: when its environment's maintenance window next opens (null if none is coming). */
  notBefore: string | null;
}

export interface OperationEvent {
  sequence: number;
  type: string;
  payload: unknown;
}

/** The last event of every finished operation's stream, written with its final status. */
export const RESULT_EVENT = 'result';

/** Written into the stream when an operation starts waiting for approval, with its plan. */
export const APPROVAL_EVENT = 'approval';

/** Statuses that end a long poll: finished, or waiting for a person. */
export function isSettled(status: OperationStatus): boolean {
  return isFinished(status) || status === 'awaiting_approval';
}

export function isFinished(status: OperationStatus): boolean {
  return FINISHED_STATUSES.has(status);
}
