// Commands that queue work and then, as asked, return at once, wait for the end (--wait), or
// follow the engine live (--follow): preview, deploy, promote, rollback; and cancel. The exit
// code is the operation's outcome (see exit-codes.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import type { components } from '../clients/typescript/schema.js';
import { dataOf } from './api-answers.js';
import type { ConfigChanges } from './config-arguments.js';
import { followEvents } from './event-follower.js';
import { EXIT, exitCodeOf, stopsWaiting, type ExitCode } from './exit-codes.js';
import { describeOperation, print, type Context } from './output.js';
import { Progress, plainLine } from './progress.js';

type Operation = components['schemas']['Operation'];
type Scope = NonNullable<components['schemas']['Operation']['spec']['scope']>;

export interface Waiting {
  wait?: boolean;
  follow?: boolean;
  /** Seconds --wait and --follow wait at most before exiting 3. */
  timeout: number;
}

const LONG_POLL_SECONDS = 60;

export async function queueOperation(context: Context, env: string, request: {
  type: 'preview' | 'update'; scope?: Scope; message?: string; config?: ConfigChanges; idempotencyKey?: string;
}, waiting: Waiting): Promise<ExitCode> {
  const { config, idempotencyKey, ...body } = request;
  const operation = dataOf(await context.client.POST('/v1/environments/{env}/operations', {
    params: { path: { env }, header: idempotencyKey ? { 'idempotency-key': idempotencyKey } : {} },
    // `config` is issue 10's one-call deploy of a configuration change; sent only when given.
    body: { ...body, ...(config ? { config } : {}) } as never,
  }));
  return settle(context, operation as Operation, waiting);
}

/** After a queueing call: report, then wait or follow as asked, and say how it ended. */
export async function settle(context: Context, operation: Operation, waiting: Waiting): Promise<ExitCode> {
  context.err(`queued ${operation.type} of ${operation.environment}: ${operation.id}`); // stderr: --json output stays clean
  if (waiting.follow) return follow(context, operation, waiting.timeout);
  if (waiting.wait) return waitForEnd(context, operation, waiting.timeout);
  print(context, operation, () => describeOperation(operation));
  return stopsWaiting(operation.status) ? exitCodeOf(operation.status) : EXIT.succeeded;
}

async function waitForEnd(context: Context, operation: Operation, timeoutSeconds: number): Promise<ExitCode> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let current = operation;
  while (!stopsWaiting(current.status) && Date.now() < deadline) {
    const wait = Math.max(1, Math.min(LONG_POLL_SECONDS, Math.ceil((deadline - Date.now()) / 1000)));
    current = dataOf(await context.client.GET('/v1/operations/{id}', { params: { path: { id: current.id }, query: { wait } } }));
  }
  return report(context, current);
}

async function follow(context: Context, operation: Operation, timeoutSeconds: number): Promise<ExitCode> {
  const expected = await expectedResources(context, operation.environment);
  const progress = new Progress(expected);
  const stopTimer = new AbortController();
  const timedOut = sleep(timeoutSeconds * 1000, 'timeout' as const, { signal: stopTimer.signal, ref: false }).catch(() => 'streamed' as const);
  const streamed = followEvents(context.client, operation.id, {
    onEvent(event) {
      progress.observe(event);
      if (context.json) context.out(JSON.stringify({ event: event.type, id: Number(event.id), data: event.payload }));
      else if (context.tty) context.status(`${operation.type} ${operation.environment}: ${progress.line()}`);
      else context.out(plainLine(event));
    },
    onReconnect(lastId, attempt) {
      context.err(`stream dropped; resuming after event ${lastId ?? 0} (attempt ${attempt})`);
    },
    signal: stopTimer.signal,
  });
  // An operation can stop short of its end and wait for a person (awaiting approval): its
  // stream then goes quiet, so its status is long-polled alongside. One that ends is left to
  // its stream, which ends with its `result` event. Whichever comes first stops the others.
  const waitingForPerson = untilStopped(context, operation.id, stopTimer.signal)
    .then((status) => (exitCodeOf(status) === EXIT.pending ? 'person' as const : new Promise<never>(() => undefined)));
  const first = await Promise.race([streamed.then(() => 'streamed' as const), timedOut, waitingForPerson]).finally(() => stopTimer.abort());
  if (first === 'timeout') {
    context.err(`still ${operation.status} after ${timeoutSeconds} s: ${operation.id}`);
    return EXIT.pending;
  }
  const final = dataOf(await context.client.GET('/v1/operations/{id}', { params: { path: { id: operation.id } } }));
  return report(context, final);
}

function report(context: Context, operation: Operation): ExitCode {
  print(context, operation, () => describeOperation(operation));
  if (!stopsWaiting(operation.status)) {
    context.err(`still ${operation.status}: stopped waiting`);
    return EXIT.pending;
  }
  return exitCodeOf(operation.status);
}

/** Long-polls until the operation ends or waits for a person; its status then (or when `signal` aborts). */
async function untilStopped(context: Context, id: string, signal: AbortSignal): Promise<string> {
  let status = 'queued';
  while (!stopsWaiting(status) && !signal.aborted) {
    const { data } = await context.client.GET('/v1/operations/{id}', { params: { path: { id }, query: { wait: LONG_POLL_SECONDS } }, signal }).catch(() => ({ data: undefined }));
    if (data) status = data.status;
    else if (!signal.aborted) await sleep(1000, undefined, { signal }).catch(() => undefined);
  }
  return status;
}

/** The stack's resource count before the change: the first guess of --follow's total. */
async function expectedResources(context: Context, env: string): Promise<number> {
  const { data } = await context.client.GET('/v1/environments/{env}', { params: { path: { env } } });
  return data?.resourceCount ?? 0;
}

export async function cancel(context: Context, id: string): Promise<ExitCode> {
  const operation = dataOf(await context.client.POST('/v1/operations/{id}/cancel', { params: { path: { id } } }));
  print(context, operation, () => describeOperation(operation));
  return EXIT.succeeded;
}
