// The only module that drives the Pulumi Automation API. One LocalWorkspace and one Stack per
// environment, created once, all running the project on disk (workDir): each operation gets
// its own CLI and Node processes, and selecting a stack for one environment never disturbs
// another's.
import {
  LocalWorkspace, PulumiCommand, type EngineEvent as PulumiEvent, type OutputMap, type Stack,
} from '@pulumi/pulumi/automation/index.js';
import { EngineFailure, type Engine, type EngineResult, type EngineRunRequest, type PendingOperation, type ChangeSummary } from './types.js';
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
    const common = {
      onEvent: (event: PulumiEvent) => request.onEvent(toEngineEvent(event)),
      onOutput: request.onOutput,
      signal: request.signal,
      color: 'never' as const,
      message: request.message,
      target: scopeTargets(request.scope, request.environment, this.project),
    };
    try {
      switch (request.type) {
        case 'preview': {
          const result = await stack.preview(common);
          return { summary: result.changeSummary as ChangeSummary, ...(await this.snapshot(request.environment)) };
        }
        case 'update': {
          const result = await stack.up({ ...common, showSecrets: false });
          const summary = result.summary.resourceChanges as ChangeSummary;
          return { summary, outputs: redactOutputs(result.outputs), resourceCount: countAfter(summary) };
        }
        case 'refresh': {
          const result = await stack.refresh({ ...common, showSecrets: false });
          return { summary: result.summary.resourceChanges as ChangeSummary, ...(await this.snapshot(request.environment)) };
        }
        case 'destroy': {
          const result = await stack.destroy({ ...common, showSecrets: false });
          return { summary: result.summary.resourceChanges as ChangeSummary, ...(await this.snapshot(request.environment)) };
        }
      }
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

  async snapshot(environment: string): Promise<{ outputs: Record<string, unknown>; resourceCount: number }> {
    const state = await this.stackOf(environment).exportStack();
    const resources = (state.deployment?.resources ?? []) as Array<{ type: string; outputs?: Record<string, unknown> }>;
    const root = resources.find((r) => r.type === 'pulumi:pulumi:Stack');
    return { outputs: redactState(root?.outputs ?? {}) as Record<string, unknown>, resourceCount: resources.length };
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

/** stack.outputs() returns secrets in plaintext, flagged; they never leave this module. */
function redactOutputs(outputs: OutputMap): Record<string, unknown> {
  return Object.fromEntries(Object.entries(outputs).map(([k, o]) => [k, o.secret ? SECRET : o.value]));
}

// In exported state a secret is an object carrying this signature key, with ciphertext.
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
