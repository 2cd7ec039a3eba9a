// The only module that runs Pulumi. Every run gets its own workspace (the program and the
// stack configuration it was given, written for that run alone) and its own CLI process,
// started with an environment built for that spawn; the Automation API's PulumiCommand checks
// the CLI's version, and its event types describe the stream.
import { randomUUID } from 'node:crypto';
import { constants, writeFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PulumiCommand, type EngineEvent as PulumiEvent } from '@pulumi/pulumi/automation/index.js';
import { runCli } from './cli.js';
import { runStackCommand } from './cli-run.js';
import { toEngineFailure } from './engine-errors.js';
import { endEngineProcesses, engineProcesses, OPERATION_ENV } from './engine-processes.js';
import { ensureStackSalt, type SaltStore } from './stack-secrets.js';
import { readCheckpoint } from './stack-checkpoint.js';
import { readStackLocks } from './stack-locks.js';
import { EngineFailure, type Engine, type EngineEvent, type EngineFlags, type EngineOutcome, type EngineRunRequest, type EngineWorkspaceSource, type PendingOperation, type RepairCommand, type StackLock } from './types.js';
import { readProjectSettings, writeSalt, writtenConfig, Workspaces } from './workspace.js';
import { ResidentHosts, residentProgram, type HostLease } from './resident-hosts.js';

export interface PulumiEngineOptions {
  /** The project deployed: its Pulumi.yaml names it, and stack commands without a program run beside it. */
  projectDir: string;
  /** Where run workspaces are made (inside the data dir). */
  workspaceRoot: string;
  /** From pulumiEnv(): toolchain PATH, PULUMI_HOME, backend, passphrase file. */
  env: Record<string, string>;
  /** Folder holding bin/pulumi. */
  toolchainRoot: string;
  backendUrl: string;
  salts: SaltStore;
  /** Each run writes its OpenTelemetry trace here, as <operation id>.json. */
  tracesDir?: string;
  /** Run programs in a resident language host per stack when they can (resident-hosts.ts). */
  residentHosts?: boolean;
  /** Told when a resident host cannot be had (the run then goes cold). */
  onProblem?(message: string): void;
}

const SECRET = '[secret]';

const COMMAND_ARGS: Record<EngineRequestCommand, string[]> = {
  preview: ['preview'],
  up: ['up', '--yes', '--skip-preview'],
  refresh: ['refresh', '--yes', '--skip-preview'],
  destroy: ['destroy', '--yes', '--skip-preview'],
};
type EngineRequestCommand = EngineRunRequest['command'];

function flagArgs(flags: EngineFlags): string[] {
  const args: string[] = [];
  for (const target of flags.targets ?? []) args.push('--target', target);
  if (flags.savePlan) args.push('--save-plan', flags.savePlan);
  if (flags.plan) args.push('--plan', flags.plan);
  if (flags.expectNoChanges) args.push('--expect-no-changes');
  if (flags.refresh) args.push('--refresh');
  if (flags.previewOnly) args.push('--preview-only');
  return args;
}

export class PulumiEngine implements Engine {
  private cli!: PulumiCommand;
  private readonly workspaces: Workspaces;
  private readonly hosts: ResidentHosts | undefined;
  readonly project: string;
  /** Program runs of this engine, by where the program ran (the metric stackpilot_engine_runs_total). */
  readonly runs = { resident: 0, cold: 0 };

  constructor(private readonly options: PulumiEngineOptions) {
    this.workspaces = new Workspaces(options.workspaceRoot);
    this.project = readProjectSettings(options.projectDir).name;
    // A host gets the environment every CLI gets, without an operation's tag: it outlives operations.
    this.hosts = options.residentHosts ? new ResidentHosts(() => this.spawnEnv(), options.onProblem) : undefined;
  }

  /** Ends the resident language hosts (a run still in one is finished first). */
  close(): void {
    this.hosts?.stop();
  }

  get version(): string {
    return this.cli?.version?.toString() ?? 'unknown';
  }

  private get binary(): string {
    return this.cli.command;
  }

  /** A fresh environment for one spawn, tagged with the operation it belongs to, if any. */
  private spawnEnv(operationId?: string): Record<string, string> {
    return { ...(process.env as Record<string, string>), ...this.options.env, ...(operationId ? { [OPERATION_ENV]: operationId } : {}) };
  }

  async init(environments: readonly string[]): Promise<void> {
    this.cli = await PulumiCommand.get({ root: this.options.toolchainRoot });
    const stack = { cli: this.binary, env: () => this.spawnEnv(), programDir: this.options.projectDir, workspaces: this.workspaces };
    // The first stack alone: on a fresh postgres:// backend its CLI creates the state table, and
    // several CLIs creating it at once race in PostgreSQL's catalog (duplicate pg_type key).
    const [first, ...rest] = environments;
    if (first !== undefined) await ensureStackSalt(first, this.options.salts, stack);
    await Promise.all(rest.map((environment) => ensureStackSalt(environment, this.options.salts, stack)));
  }

  async run(request: EngineRunRequest): Promise<EngineOutcome> {
    const salt = request.source.encryptionSalt ?? (await this.options.salts.get(request.environment));
    if (!salt) throw new EngineFailure('engine_failed', `stack ${request.environment} has not been initialised`);
    const workspace = this.workspaces.create(request.operationId, request.environment, request.source.programDir, request.source.config, salt, request.source.modulesDir);
    let lease: HostLease | undefined;
    let succeeded = false;
    try {
      // A preview-only run of a mutating command shows what it would do, and asks nothing.
      const command = request.flags.previewOnly ? [request.command] : COMMAND_ARGS[request.command];
      const args = [...command, ...flagArgs(request.flags), '--stack', request.environment, '--non-interactive',
        '--color', 'never', '--exec-kind', 'auto.local'];
      if (request.message) args.push('--message', request.message);
      const program = this.hosts && residentProgram(workspace.dir);
      lease = program && (await this.hosts!.lend(request.environment, program, request.operationId));
      if (lease) args.push('--client', lease.address);
      this.runs[lease ? 'resident' : 'cold']++;
      if (this.options.tracesDir) args.push('--otel-traces', pathToFileURL(join(this.options.tracesDir, `${request.operationId}.json`)).href);
      // Saved plans are behind the CLI's experimental switch; it is set for these runs alone,
      // since with it every `up` would also make and enforce a plan of its own.
      const experimental: Record<string, string> = request.flags.savePlan || request.flags.plan ? { PULUMI_EXPERIMENTAL: 'true' } : {};
      // Skipping confirmations is --yes to the CLI, which refuses it with --preview-only.
      const confirmations: Record<string, string> = request.flags.previewOnly ? { PULUMI_SKIP_CONFIRMATIONS: 'false' } : {};
      const run = await runStackCommand(this.binary, {
        args, cwd: workspace.dir, env: { ...this.spawnEnv(request.operationId), ...experimental, ...confirmations }, signal: request.signal, onStdout: request.onOutput, onSpawn: request.onSpawn,
      }, (event) => request.onEvent(toEngineEvent(event)));
      succeeded = run.exit.code === 0 && !request.signal.aborted;
      if (run.exit.code !== 0) throw toEngineFailure(run, { aborted: request.signal.aborted, hidePaths: workspace.exposedPaths });
      return { summary: run.summary, outputs: run.outputs && (redactState(run.outputs) as Record<string, unknown>) };
    } finally {
      lease?.release(succeeded);
      workspace.remove();
    }
  }

  async pendingOperations(environment: string): Promise<PendingOperation[]> {
    const state = JSON.parse(await this.stackCommand(['stack', 'export', '--stack', environment])) as { deployment?: { pending_operations?: Array<{ type: string; resource: { urn: string } }> } };
    return (state.deployment?.pending_operations ?? []).map((p) => ({ type: p.type, urn: p.resource.urn }));
  }

  async exportState(environment: string): Promise<string> {
    return readCheckpoint(this.options.backendUrl, this.project, environment) ?? this.stackCommand(['stack', 'export', '--stack', environment]);
  }

  async importState(environment: string, state: string): Promise<void> {
    const salt = await this.options.salts.get(environment);
    const scratch = this.workspaces.bare(`import-${randomUUID()}`, this.options.projectDir);
    // The state reaches the CLI as a file only this service can read, removed with its workspace.
    const file = join(scratch.dir, 'state.json');
    writeFileSync(file, state, { mode: 0o600 });
    try {
      const cli = (args: string[]) => runCli(this.binary, { args: [...args, '--non-interactive'], cwd: scratch.dir, env: this.spawnEnv() });
      // An empty state backend (a disaster recovery) has no stack yet: it is made with the stack's own salt.
      if (salt) writeSalt(scratch.dir, this.options.projectDir, environment, salt);
      const init = await cli(['stack', 'init', environment]);
      if (init.code !== 0 && !/already exists/.test(init.stderr)) throw toEngineFailure({ exit: init, failedResources: [], errors: [] }, { aborted: false, hidePaths: scratch.exposedPaths });
      const imported = await cli(['stack', 'import', '--file', file, '--stack', environment]);
      if (imported.code !== 0) throw toEngineFailure({ exit: imported, failedResources: [], errors: [] }, { aborted: false, hidePaths: scratch.exposedPaths });
    } finally {
      scratch.remove();
    }
  }

  async encryptSecrets(environment: string, values: readonly string[], salt?: string): Promise<string[]> {
    const stackSalt = salt ?? (await this.options.salts.get(environment));
    if (!stackSalt) throw new EngineFailure('engine_failed', `stack ${environment} has not been initialised`);
    const scratch = this.workspaces.bare(`secrets-${process.pid}-${Math.random().toString(36).slice(2, 10)}`, this.options.projectDir);
    try {
      writeSalt(scratch.dir, this.options.projectDir, environment, stackSalt);
      const encrypted: string[] = [];
      for (const [i, value] of values.entries()) {
        const key = `stackpilot:secret${i}`;
        const exit = await runCli(this.binary, {
          args: ['config', 'set', '--secret', '--stack', environment, key, '--non-interactive'], cwd: scratch.dir, env: this.spawnEnv(), input: value,
        });
        if (exit.code !== 0) throw toEngineFailure({ exit, failedResources: [], errors: [] }, { aborted: false, hidePaths: scratch.exposedPaths });
        const secure = writtenConfig(scratch.dir, this.options.projectDir, environment)?.[key];
        if (!secure || typeof secure !== 'object' || typeof (secure as { secure?: unknown }).secure !== 'string') {
          throw new EngineFailure('engine_failed', `the secrets provider of stack ${environment} returned no ciphertext`);
        }
        encrypted.push((secure as { secure: string }).secure);
      }
      return encrypted;
    } finally {
      scratch.remove();
    }
  }

  async repair(environment: string, command: RepairCommand, source: EngineWorkspaceSource): Promise<string> {
    const salt = source.encryptionSalt ?? (await this.options.salts.get(environment));
    if (!salt) throw new EngineFailure('engine_failed', `stack ${environment} has not been initialised`);
    const args = [...repairArgs(command), '--stack', environment, '--color', 'never', '--non-interactive'];
    // A refresh loads the project (its program must be there) and the stack's configuration.
    const workspace = this.workspaces.create(`repair-${randomUUID()}`, environment, source.programDir, source.config, salt, source.modulesDir);
    try {
      const exit = await runCli(this.binary, { args, cwd: workspace.dir, env: this.spawnEnv() });
      if (exit.code !== 0) throw toEngineFailure({ exit, failedResources: [], errors: [] }, { aborted: false, hidePaths: workspace.exposedPaths });
      return exit.stdout;
    } finally {
      workspace.remove();
    }
  }

  locks(environment: string): Promise<StackLock[] | undefined> {
    return readStackLocks(this.options.backendUrl, this.project, environment);
  }

  async clearLock(environment: string): Promise<void> {
    await this.stackCommand(['cancel', '--yes', '--stack', environment]);
  }

  processes(operationId: string) {
    return engineProcesses(operationId);
  }

  endProcesses(operationId: string) {
    this.workspaces.remove(operationId);
    return endEngineProcesses(operationId);
  }

  async reachable(): Promise<boolean> {
    try {
      // A file:// backend is a folder: checked without starting a CLI, which would cost a Go
      // process every few seconds (the readiness check's period) for the life of the service.
      if (this.options.backendUrl.startsWith('file://')) {
        await access(fileURLToPath(this.options.backendUrl), constants.R_OK | constants.W_OK);
        return true;
      }
      await this.stackCommand(['whoami']);
      return true;
    } catch {
      return false;
    }
  }

  /** A stack command that runs no program, in a scratch workspace; its stdout, or an error naming the CLI's. */
  private async stackCommand(args: string[]): Promise<string> {
    const scratch = this.workspaces.bare(`cmd-${process.pid}-${Math.random().toString(36).slice(2, 10)}`, this.options.projectDir);
    try {
      const exit = await runCli(this.binary, { args: [...args, '--non-interactive'], cwd: scratch.dir, env: this.spawnEnv() });
      if (exit.code !== 0) throw toEngineFailure({ exit, failedResources: [], errors: [] }, { aborted: false, hidePaths: scratch.exposedPaths });
      return exit.stdout;
    } finally {
      scratch.remove();
    }
  }
}

function repairArgs(command: RepairCommand): string[] {
  switch (command.step) {
    case 'refresh': {
      const pending = command.pendingCreates;
      const flags = pending === 'clear' ? ['--clear-pending-creates'] : pending === 'skip' ? ['--skip-pending-creates']
        // A repeated flag, not one flag with two values: the CLI reads the list as URN, ID, URN, ID...
        : pending ? pending.import.flatMap(({ urn, id }) => ['--import-pending-creates', urn, '--import-pending-creates', id]) : [];
      return ['refresh', '--yes', '--skip-preview', ...flags];
    }
    case 'state-delete': return ['state', 'delete', command.urn, '--yes'];
    case 'state-unprotect': return ['state', 'unprotect', command.urn, '--yes'];
    case 'state-repair': return ['state', 'repair', '--yes'];
  }
}

function toEngineEvent(event: PulumiEvent): EngineEvent {
  const key = Object.keys(event).find((k) => k.endsWith('Event')) ?? 'unknown';
  return { type: key.replace(/Event$/, ''), payload: (event as unknown as Record<string, unknown>)[key] };
}

// In exported state a secret is an object carrying this signature key, with ciphertext. The
// engine's events show secret outputs as "[secret]" already; the outputs taken from them are
// passed through this as well, so a value that slipped by would still not be stored.
const SECRET_SIG = '4dabf18193072939515e22adb298388d';

export function redactState(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactState);
  if (value && typeof value === 'object') {
    if (SECRET_SIG in value) return SECRET;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactState(v)]));
  }
  return value;
}
