// Read-only commands: envs, status <env>, ops <env>, logs <op> [-f].
import { dataOf } from './api-answers.js';
import { followEvents } from './event-follower.js';
import { EXIT, exitCodeOf, type ExitCode } from './exit-codes.js';
import { describeOperation, print, type Context } from './output.js';
import { plainLine } from './progress.js';

export async function listEnvironments(context: Context): Promise<ExitCode> {
  const { items } = dataOf(await context.client.GET('/v1/environments'));
  print(context, items, () => items.map((e) => `${e.name.padEnd(14)} ${e.status.padEnd(10)} ${e.resourceCount ?? '-'} resources, ${e.queueLength} queued`).join('\n'));
  return EXIT.succeeded;
}

export async function environmentStatus(context: Context, env: string): Promise<ExitCode> {
  const environment = dataOf(await context.client.GET('/v1/environments/{env}', { params: { path: { env } } }));
  print(context, environment, () => [
    `${environment.name}: ${environment.status}${environment.holder ? ` (held by ${environment.holder.operationId})` : ''}, ${environment.queueLength} queued`,
    `resources: ${environment.resourceCount ?? '-'}`,
    ...(environment.lastOperation ? [`last: ${describeOperation(environment.lastOperation)}`] : []),
    ...Object.entries(environment.outputs ?? {}).map(([key, value]) => `  ${key} = ${JSON.stringify(value)}`),
  ].join('\n'));
  return EXIT.succeeded;
}

export async function listOperations(context: Context, env: string, limit: number): Promise<ExitCode> {
  const page = dataOf(await context.client.GET('/v1/environments/{env}/operations', { params: { path: { env }, query: { limit } } }));
  print(context, page, () => page.items.map(describeOperation).join('\n'));
  return EXIT.succeeded;
}

/** The plain-text log, or with -f the live events to the end; exits with the operation's outcome when following. */
export async function operationLogs(context: Context, id: string, followLive: boolean): Promise<ExitCode> {
  if (!followLive) {
    const text = dataOf(await context.client.GET('/v1/operations/{id}/log', { params: { path: { id } }, parseAs: 'text' }));
    context.out(context.json ? JSON.stringify({ id, log: text }) : text.replace(/\n$/, ''));
    return EXIT.succeeded;
  }
  await followEvents(context.client, id, {
    onEvent: (event) => context.out(context.json ? JSON.stringify({ event: event.type, id: Number(event.id), data: event.payload }) : plainLine(event)),
  });
  const operation = dataOf(await context.client.GET('/v1/operations/{id}', { params: { path: { id } } }));
  return exitCodeOf(operation.status);
}
