// What the rest of the service knows about the engine. Nothing here imports the Automation
// API: the domain depends on these types, and pulumi-engine.ts implements them. The engine
// knows stacks, commands and flags, not the domain's operation types.

/** The CLI command a run executes. */
export type EngineCommand = 'preview' | 'up' | 'refresh' | 'destroy';

/** Options of a run, each mapped to the CLI's own flag. */
export interface EngineFlags {
  /** URN patterns (--target); undefined for the whole stack. */
  targets?: string[];
  /** preview: save the proposed operations to this plan file (--save-plan). */
  savePlan?: string;
  /** up: apply exactly this plan file (--plan). */
  plan?: string;
  /** Fail when changes are proposed (--expect-no-changes). */
  expectNoChanges?: boolean;
  /** up/preview/destroy: refresh the state first (--refresh). */
  refresh?: boolean;
  /** refresh/destroy: only show what it would change (--preview-only). */
  previewOnly?: boolean;
}

export interface EngineEvent {
  /** The engine's event kind without the "Event" suffix: prelude, resourcePre, diagnostic, summary... */
  type: string;
  payload: unknown;
}

/** Where a run's program comes from and the stack configuration it runs with. */
export interface EngineWorkspaceSource {
  /** A folder holding the project: Pulumi.yaml and the program it names. */
  programDir: string;
  /** The stack configuration (the `config:` map of a stack file), secrets as `{secure: ciphertext}`. */
  config: Record<string, unknown>;
  /** The salt that configuration's secrets were encrypted with, when it brings its own; else the stack's. */
  encryptionSalt?: string;
  /** The node_modules the program runs with, when not the one above programDir (a program snapshot). */
  modulesDir?: string;
}

export interface EngineRunRequest {
  environment: string;
  command: EngineCommand;
  flags: EngineFlags;
  source: EngineWorkspaceSource;
  message?: string;
  /** Set on the engine's processes' environment, so a later process can find them. */
  operationId: string;
  signal: AbortSignal;
  /** Called with the CLI's pid once it runs: a lock it leaves behind names that pid. */
  onSpawn?(pid: number): void;
  onEvent(event: EngineEvent): void;
  onOutput(text: string): void;
}

export interface EngineOutcome {
  /** Resource counts by change kind, from the engine's summary event. */
  summary: Record<string, number>;
  /** Stack outputs with every secret replaced by "[secret]", when the run reported them. */
  outputs: Record<string, unknown> | undefined;
}

export type EngineFailureCode = 'locked' | 'cancelled' | 'plugin_missing' | 'program_failed' | 'resource_failed' | 'engine_failed' | 'engine_killed' | 'plan_violated';

/** A resource the engine reported an error for, with the engine's diagnostic. */
export interface FailedResource {
  urn: string;
  message: string;
}

/** A failed engine run, with a message safe to show (no command line, no secrets, no server paths). */
export class EngineFailure extends Error {
  constructor(
    readonly code: EngineFailureCode,
    message: string,
    readonly details: { resources?: FailedResource[]; signal?: string; exitCode?: number | null; lockHolders?: StackLock[] } = {},
  ) {
    super(message);
    this.name = 'EngineFailure';
  }
}

export interface PendingOperation {
  type: string;
  urn: string;
}

/** A lock a state backend holds on a stack (DIY backends: a lock file per holder). */
export interface StackLock {
  pid: number;
  username: string;
  hostname: string;
  timestamp: string;
}

export interface EngineProcess {
  pid: number;
  /** Executable name: `pulumi` for the CLI that holds the stack lock. */
  command: string;
}

/** A repair of a stack's state, each one CLI command (see Engine.repair). */
export type RepairCommand =
  | { step: 'refresh'; pendingCreates?: 'clear' | 'skip' | { import: Array<{ urn: string; id: string }> } }
  | { step: 'state-delete'; urn: string }
  | { step: 'state-unprotect'; urn: string }
  | { step: 'state-repair' };

export interface Engine {
  readonly version: string;
  /** Makes sure each environment's stack exists with its secrets provider. Never changes resources. */
  init(environments: readonly string[]): Promise<void>;
  run(request: EngineRunRequest): Promise<EngineOutcome>;
  /** Operations a dead engine left half-done in the stack's state. */
  pendingOperations(environment: string): Promise<PendingOperation[]>;
  /** The locks the state backend really holds on the stack; undefined when this backend's locks cannot be read. */
  locks(environment: string): Promise<StackLock[] | undefined>;
  /** The stack's state as `pulumi stack export` prints it (secrets stay ciphertext); a file:// backend's is read without a CLI run. */
  exportState(environment: string): Promise<string>;
  /** Replaces the stack's state with `state`, an export of this stack (`pulumi stack import`). */
  importState(environment: string, state: string): Promise<void>;
  /**
   * Encrypts values with the stack's secrets provider (under `salt`, or the stack's own), as
   * `pulumi config set --secret` would; the values reach the CLI on its stdin only.
   */
  encryptSecrets(environment: string, values: readonly string[], salt?: string): Promise<string[]>;
  /**
   * Runs one repair of the stack's state (refresh, with what to do about pending creates;
   * state delete, unprotect, repair); returns the CLI's output. No program runs, but a refresh
   * reads the project and its configuration from `source`.
   */
  repair(environment: string, command: RepairCommand, source: EngineWorkspaceSource): Promise<string>;
  /** Removes the stack's lock (DIY backends: its lock files). */
  clearLock(environment: string): Promise<void>;
  /** The processes of an operation's engine still alive on this host. */
  processes(operationId: string): EngineProcess[];
  /** Ends every process of an operation's engine on this host; returns those it ended. */
  endProcesses(operationId: string): EngineProcess[];
  reachable(): Promise<boolean>;
}
