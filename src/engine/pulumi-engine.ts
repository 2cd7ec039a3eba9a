// The only module that drives the Pulumi Automation API. One LocalWorkspace and one Stack per
// environment, created once, all running the project on disk (workDir): each operation gets
// its own CLI and Node processes, and selecting a stack for one environment never disturbs
// another's.
import { LocalWorkspace, PulumiCommand, type EngineEvent as PulumiEvent, type Stack } from '@pulumi/pulumi/automation/index.js';
import { runStackCommand } from './cli-run.js';
import { EngineFailure, type ChangeSummary, type Engine, type EngineResult, type EngineRunRequest, type OperationType, type PendingOperation } from './types.js';
import { OPERATION_ENV } from './engine-processes.js';
import { toEngineFailure } from './engine-errors.js';
import { scopeTargets } from './scope-targets.js';

export interface PulumiEngineOptions {
  projectDir: string;
  /** From pulumiEnv(): toolchain PATH, PULUMI_HOME, backend, passphrase. */
  env: Record<string, string>;
  /** Folder holding bin/pulumi. */
  toolchainRoot: string;
}

const SECRET = '[secret]';

const COMMANDS: Record<OperationType, string[]> = {
  preview: ['preview'],
  update: ['up', '--yes', '--skip-preview'],
  refresh: ['refresh', '--yes', '--skip-preview'],
  destroy: ['destroy', '--yes', '--skip-preview'],
};

/**
 * What an operation tells about the stack afterwards, from its events alone: a preview
 * changes nothing; an update reports the stack's outputs; a full destroy leaves nothing.
 */
function resultOf(request: EngineRunRequest, summary: ChangeSummary, outputs: Record<string, unknown> | undefined): EngineResult {
  switch (request.type) {
    case 'preview':
      return { summary, outputs: null, resourceCount: null };
    case 'update':
      return { summary, outputs: redactState(outputs ?? {}) as Record<string, unknown>, resourceCount: countAfter(summary) };
    case 'refresh':
      return { summary, outputs: null, resourceCount: countAfter(summary) };
    case 'destroy':
      return request.scope === 'all' ? { summary, outputs: {}, resourceCount: 0 } : { summary, outputs: null, resourceCount: countAfter(summary) };
  }
}

export class PulumiEngine implements Engine {
  private readonly stacks = new Map<string, Stack>();
  private cli!: PulumiCommand;
  private project = '';

  constructor(private readonly options: PulumiEngineOptions) {}

  get version(): string {
    return this.cli?.version?.toString() ?? 'unknown';
  }

  async init(environments: readonly string[]): Promise<void> {
    this.cli = await PulumiCommand.get({ root: this.options.toolchainRoot });
    for (const environment of environments) {
      const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: environment, workDir: this.options.projectDir },
        { pulumiCommand: this.cli, envVars: { ...this.options.env } },
      );
      this.stacks.set(environment, stack);
    }
    const settings = await this.stackOf(environments[0] ?? '').workspace.projectSettings();
    this.project = settings.name;
  }

  async run(request: EngineRunRequest): Promise<EngineResult> {
    const stack = this.stackOf(request.environment);
    // Only one operation runs per environment at a time (the database says so), so this
    // workspace's variables belong to this operation until it ends.
    stack.workspace.envVars[OPERATION_ENV] = request.operationId;
    const args = [...COMMANDS[request.type], '--color', 'never'];
    if (request.message) args.push('--message', request.message);
    for (const target of scopeTargets(request.scope, request.environment, this.project) ?? []) args.push('--target', target);
    try {
      const { summary, outputs } = await runStackCommand(stack, args, {
        onEvent: (event) => request.onEvent(toEngineEvent(event)),
        onOutput: request.onOutput,
        signal: request.signal,
      });
      return resultOf(request, summary, outputs);
    } catch (error) {
      throw toEngineFailure(error, request.signal.aborted);
    } finally {
      delete stack.workspace.envVars[OPERATION_ENV];
    }
  }

  async pendingOperations(environment: string): Promise<PendingOperation[]> {
    const state = await this.stackOf(environment).exportStack();
    const pending = (state.deployment?.pending_operations ?? []) as Array<{ type: string; resource: { urn: string } }>;
    return pending.map((p) => ({ type: p.type, urn: p.resource.urn }));
  }

  async clearLock(environment: string): Promise<void> {
    await this.stackOf(environment).cancel();
  }

  async reachable(): Promise<boolean> {
    const first = this.stacks.values().next().value;
    if (!first) return false;
    try {
      await first.workspace.whoAmI();
      return true;
    } catch {
      return false;
    }
  }

  private stackOf(environment: string): Stack {
    const stack = this.stacks.get(environment);
    if (!stack) throw new EngineFailure('engine_failed', `environment ${environment} has no stack`);
    return stack;
  }
}

function toEngineEvent(event: PulumiEvent): { type: string; payload: unknown } {
  const key = Object.keys(event).find((k) => k.endsWith('Event')) ?? 'unknown';
  return { type: key.replace(/Event$/, ''), payload: (event as unknown as Record<string, unknown>)[key] };
}

// In exported state a secret is an object carrying this signature key, with ciphertext; engine
// events already show "[secret]", and are passed through this too in case a value slips by.
const SECRET_SIG = '4dabf18193072939515e22adb298388d';

function redactState(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactState);
  if (value && typeof value === 'object') {
    if (SECRET_SIG in value) return SECRET;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactState(v)]));
  }
  return value;
}

/** Resources left after an update: everything but what it deleted. */
function countAfter(summary: ChangeSummary): number {
  return Object.entries(summary).filter(([kind]) => kind !== 'delete' && kind !== 'discard').reduce((n, [, c]) => n + c, 0);
}
