// Runs one stack command (up, preview, refresh, destroy) with the workspace's Pulumi CLI,
// streaming the engine's events over the CLI's gRPC event log, and nothing else. Stack.up()
// and friends follow every run with more CLI processes (stack output twice, stack history),
// which cost more than half a second per operation; the summary and the stack outputs this
// service needs are already in the event stream. Spawning the CLI here also gives the one
// SIGINT on cancel a process this code owns.
import { Server, ServerCredentials, type ServerReadableStream, type sendUnaryData } from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import type { EngineEvent as PulumiEvent, LocalWorkspace, Stack } from '@pulumi/pulumi/automation/index.js';
import eventsGrpc from '@pulumi/pulumi/proto/events_grpc_pb.js';
import emptyPb from 'google-protobuf/google/protobuf/empty_pb.js';

export interface CliRunResult {
  /** From the engine's summary event. */
  summary: Record<string, number>;
  /** The stack resource's outputs as the engine reported them (secrets already "[secret]"). */
  outputs: Record<string, unknown> | undefined;
}

export interface CliRunOptions {
  onEvent(event: PulumiEvent): void;
  onOutput(text: string): void;
  signal: AbortSignal;
}

const STREAM_DRAIN_MS = 2000;

export async function runStackCommand(stack: Stack, command: string[], options: CliRunOptions): Promise<CliRunResult> {
  const result: CliRunResult = { summary: {}, outputs: undefined };
  // A resource's failure (a Deployment that never got ready...) reaches the CLI's stdout and
  // the event stream, not its stderr: kept here as `error:` lines for the failure's message.
  const resourceErrors: string[] = [];
  const events = await listenForEvents((event) => {
    if (event.summaryEvent) result.summary = event.summaryEvent.resourceChanges as Record<string, number>;
    const outputs = event.resOutputsEvent?.metadata;
    if (outputs?.type === 'pulumi:pulumi:Stack') result.outputs = outputs.new?.outputs as Record<string, unknown> | undefined;
    const diagnostic = event.diagnosticEvent;
    if (diagnostic?.severity === 'error' && diagnostic.urn && !diagnostic.urn.includes('::pulumi:pulumi:Stack::')) {
      const [type, name] = diagnostic.urn.split('::').slice(-2);
      resourceErrors.push(`error: ${type?.split('$').at(-1)} ${name}: ${diagnostic.message.split('\n').map((l) => l.trim()).filter(Boolean).join(' ')}`);
    }
    options.onEvent(event);
  });
  try {
    const workspace = stack.workspace as LocalWorkspace;
    const args = [...command, '--stack', stack.name, '--non-interactive', '--event-log', events.address, '--exec-kind', 'auto.local'];
    try {
      await spawnCli(workspace, args, options);
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      await events.ended(STREAM_DRAIN_MS);
      throw resourceErrors.length ? new CliError(error.exitCode, [error.stderr, ...resourceErrors].join('\n')) : error;
    }
    await events.ended(STREAM_DRAIN_MS);
    return result;
  } finally {
    events.close();
  }
}

/** A failed CLI run, shaped like the Automation API's CommandError (engine-errors.ts reads stderr). */
export class CliError extends Error {
  constructor(readonly exitCode: number | null, readonly stderr: string) {
    super(`pulumi exited with ${exitCode}`);
  }
}

function spawnCli(workspace: LocalWorkspace, args: string[], options: CliRunOptions): Promise<void> {
  const cli = workspace.pulumiCommand.command;
  // workspace.envVars comes from pulumiEnv(): the toolchain's bin first on PATH, PULUMI_HOME...
  const env = {
    ...process.env,
    // PULUMI_DEBUG_COMMANDS makes the CLI accept --event-log, as the Automation API does.
    PULUMI_DEBUG_COMMANDS: 'true',
    PULUMI_AUTOMATION_API: 'true',
    ...workspace.envVars,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(cli, args, { cwd: workspace.workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', options.onOutput);
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-64 * 1024);
    });
    // One SIGINT: the CLI stops gracefully; a second could orphan resources, so none follows.
    const cancel = () => child.kill('SIGINT');
    options.signal.addEventListener('abort', cancel, { once: true });
    if (options.signal.aborted) cancel();
    child.once('error', reject);
    child.once('close', (code) => {
      options.signal.removeEventListener('abort', cancel);
      if (code === 0) resolve();
      else reject(new CliError(code, stderr));
    });
  });
}

interface EventListener {
  address: string;
  /** Resolves once the CLI has closed its event stream (or after `ms`). */
  ended(ms: number): Promise<void>;
  close(): void;
}

async function listenForEvents(onEvent: (event: PulumiEvent) => void): Promise<EventListener> {
  const server = new Server();
  let markEnded!: () => void;
  const endedPromise = new Promise<void>((resolve) => (markEnded = resolve));
  server.addService(eventsGrpc.EventsService, {
    streamEvents(call: ServerReadableStream<{ getEvent(): string }, unknown>, callback: sendUnaryData<unknown>) {
      call.on('data', (request) => {
        try {
          onEvent(JSON.parse(request.getEvent()) as PulumiEvent);
        } catch {
          // a malformed event is skipped; the operation's result does not depend on one
        }
      });
      call.on('end', () => {
        callback(null, new emptyPb.Empty());
        markEnded();
      });
      call.on('error', () => markEnded());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
  return {
    address: `tcp://127.0.0.1:${port}`,
    ended: (ms) => Promise.race([endedPromise, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]),
    close: () => server.forceShutdown(),
  };
}
