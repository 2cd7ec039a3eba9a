// An operation is a row, never a promise held in memory: what was asked, by whom, and what
// happened. These are its states and the only transitions between them.
import type { ChangeSummary, OperationType, Scope } from '../engine/types.js';

export const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type OperationStatus = (typeof STATUSES)[number];

export const FINISHED_STATUSES: ReadonlySet<OperationStatus> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

/** queued → running → succeeded | failed | cancelled; queued → cancelled; running → interrupted (its runner died). */
export const TRANSITIONS: Readonly<Record<OperationStatus, readonly OperationStatus[]>> = {
  queued: ['running', 'cancelled'],
  running: ['succeeded', 'failed', 'cancelled', 'interrupted'],
  succeeded: [],
  failed: [],
  cancelled: [],
  interrupted: [],
};

export interface Operation {
  id: string;
  environment: string;
  type: OperationType;
  scope: Scope;
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
  pulumiVersion: string | null;
}

export interface NewOperation {
  environment: string;
  type: OperationType;
  scope: Scope;
  message?: string;
  requestedBy: string;
  idempotencyKey?: string;
}

export interface OperationEvent {
  sequence: number;
  type: string;
  payload: unknown;
}

export function isFinished(status: OperationStatus): boolean {
  return FINISHED_STATUSES.has(status);
}
