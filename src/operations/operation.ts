// An operation is a row, never a promise held in memory: what was asked, by whom, and what
// happened. This file holds the domain's own words for it: its types, scopes, states and the
// only transitions between them (enforced by the store's one transition function), change
// summaries, the error codes a failure is reported with, and the event that ends its stream.

export const OPERATION_TYPES = ['preview', 'update', 'refresh', 'destroy'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

/** Which layer of the program an operation touches. */
export const SCOPES = ['all', 'infrastructure', 'workloads'] as const;
export type Scope = (typeof SCOPES)[number];

export const STATUSES = ['queued', 'running', 'recovering', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type OperationStatus = (typeof STATUSES)[number];

export const FINISHED_STATUSES: ReadonlySet<OperationStatus> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

/**
 * queued → running → succeeded | failed | cancelled; queued → cancelled. A running operation
 * whose runner died is fenced first (recovering: it keeps the stack while its processes are
 * ended and its stale lock cleared), and only then interrupted.
 */
export const TRANSITIONS: Readonly<Record<OperationStatus, readonly OperationStatus[]>> = {
  queued: ['running', 'cancelled'],
  running: ['succeeded', 'failed', 'cancelled', 'recovering'],
  recovering: ['interrupted'],
  succeeded: [],
  failed: [],
  cancelled: [],
  interrupted: [],
};

/** States that hold the stack: at most one operation per environment is in one of them. */
export const HOLDING_STATUSES: readonly OperationStatus[] = ['running', 'recovering'];

/** Why an operation did not succeed, as a stable code. */
export const ERROR_CODES = [
  'locked', 'cancelled', 'plugin_missing', 'program_failed', 'resource_failed', 'engine_failed', 'engine_killed', 'interrupted',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Resource counts by change kind, as the engine reports them (create, update, delete, replace, same...). */
export type ChangeSummary = Record<string, number>;

/** What an operation was asked to do beyond its type. */
export interface OperationSpec {
  scope: Scope;
  /** Keep the engine's debug diagnostics in the event stream (off by default: they are noise). */
  debug?: boolean;
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
}

export interface OperationEvent {
  sequence: number;
  type: string;
  payload: unknown;
}

/** The last event of every finished operation's stream, written with its final status. */
export const RESULT_EVENT = 'result';

export function isFinished(status: OperationStatus): boolean {
  return FINISHED_STATUSES.has(status);
}
