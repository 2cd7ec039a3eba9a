// Runs one stack command (up, preview, refresh, destroy) and streams the engine's events over
// the CLI's gRPC event log, as the Automation API does, and nothing else: Stack.up() and
// friends follow every run with more CLI processes (stack output twice, stack history), which
// cost more than half a second per operation, while the summary and the stack outputs this
// service needs are already in the event stream.
import { Server, ServerCredentials, type ServerReadableStream, type sendUnaryData } from '@grpc/grpc-js';
import type { EngineEvent as PulumiEvent } from '@pulumi/pulumi/automation/index.js';
import eventsGrpc from '@pulumi/pulumi/proto/events_grpc_pb.js';
import emptyPb from 'google-protobuf/google/protobuf/empty_pb.js';
import { runCli, type CliCall, type CliExit } from './cli.js';
import type { FailedResource } from './types.js';

export interface StackRun {
  exit: CliExit;
  /** From the engine's summary event. */
  summary: Record<string, number>;
  /** The stack resource's outputs as the engine reported them (secrets already "[secret]"). */
  outputs: Record<string, unknown> | undefined;
  /** Resources the engine reported an error diagnostic for, in order. */
  failedResources: FailedResource[];
  /** The engine's error diagnostics without a resource (program errors, the update's own failure). */
  errors: string[];
}

const STREAM_DRAIN_MS = 2000;

export async function runStackCommand(cli: string, call: CliCall, onEvent: (event: PulumiEvent) => void): Promise<StackRun> {
  const run: Omit<StackRun, 'exit'> = { summary: {}, outputs: undefined, failedResources: [], errors: [] };
  const events = await listenForEvents((event) => {
    if (event.summaryEvent) run.summary = event.summaryEvent.resourceChanges as Record<string, number>;
    const outputs = event.resOutputsEvent?.metadata;
    if (outputs?.type === 'pulumi:pulumi:Stack') run.outputs = outputs.new?.outputs as Record<string, unknown> | undefined;
    const diagnostic = event.diagnosticEvent;
    if (diagnostic?.severity === 'error') {
      const message = diagnostic.message.trim();
      if (diagnostic.urn && !diagnostic.urn.includes('::pulumi:pulumi:Stack::')) run.failedResources.push({ urn: diagnostic.urn, message });
      else run.errors.push(message);
    }
    onEvent(event);
  });
  try {
    const exit = await runCli(cli, { ...call, args: [...call.args, '--event-log', events.address] });
    await events.ended(STREAM_DRAIN_MS);
    return { ...run, exit };
  } finally {
    events.close();
  }
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
        let event: PulumiEvent;
        try {
          event = JSON.parse(request.getEvent()) as PulumiEvent;
        } catch {
          return; // a malformed event is skipped; the operation's result does not depend on one
        }
        onEvent(event);
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
