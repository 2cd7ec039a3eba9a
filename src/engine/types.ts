// What the rest of the service knows about the engine. Nothing here imports the Automation
// API: the domain depends on these types, and pulumi-engine.ts implements them.

export const OPERATION_TYPES = ['preview', 'update', 'refresh', 'destroy'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

export const SCOPES = ['all', 'infrastructure', 'workloads'] as const;
export type Scope = (typeof SCOPES)[number];

/** Resource counts by change kind, as the engine reports them (create, update, delete, replace, same...). */
export type ChangeSummary = Record<string, number>;

export interface EngineEvent {
  /** The engine's event kind without the "Event" suffix: prelude, resourcePre, diagnostic, summary... */
  type: string;
  payload: unknown;
}

export interface EngineRunRequest {
  environment: string;
  type: OperationType;
  scope: Scope;
  message?: string;
  /** Set on the engine process's environment so a later process can tell whether it still runs. */
  operationId: string;
  signal: AbortSignal;
  onEvent(event: EngineEvent): void;
  onOutput(text: string): void;
}

export interface EngineResult {
  summary: ChangeSummary;
  /** Stack outputs with every secret replaced by "[secret]"; null when the operation did not read them. */
  outputs: Record<string, unknown> | null;
  /** Resources in the stack's state after the operation; null when it changed none (preview). */
  resourceCount: number | null;
}

export type EngineFailureReason = 'locked' | 'cancelled' | 'plugin_missing' | 'program_failed' | 'engine_failed';

/** A failed engine run, with a message safe to show (no command line, no secrets). */
export class EngineFailure extends Error {
  constructor(readonly reason: EngineFailureReason, message: string) {
    super(message);
    this.name = 'EngineFailure';
  }
}

export interface PendingOperation {
  type: string;
  urn: string;
}

export interface Engine {
  readonly version: string;
  /** Selects or creates each environment's stack. Never changes infrastructure. */
  init(environments: readonly string[]): Promise<void>;
  run(request: EngineRunRequest): Promise<EngineResult>;
  /** Operations a dead engine left half-done in the stack's state. */
  pendingOperations(environment: string): Promise<PendingOperation[]>;
  /** Removes the stack's lock (DIY backends: its lock files). */
  clearLock(environment: string): Promise<void>;
  reachable(): Promise<boolean>;
}
