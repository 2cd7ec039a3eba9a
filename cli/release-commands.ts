// promote, approve, reject, rollback: the release endpoints of issue 10, through the generated
// client (see pending-release-paths.ts until they are in the spec).
import type { components } from '../clients/typescript/schema.js';
import { dataOf } from './api-answers.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { settle, type Waiting } from './operation-commands.js';
import { describeOperation, print, type Context } from './output.js';

type Operation = components['schemas']['Operation'];

export async function promote(context: Context, env: string, options: { from?: string; message?: string }, waiting: Waiting): Promise<ExitCode> {
  const operation = dataOf(await context.client.POST('/v1/environments/{env}/promotions', {
    params: { path: { env } }, body: { ...(options.from ? { from: options.from } : {}), ...(options.message ? { message: options.message } : {}) },
  }));
  return settle(context, operation as Operation, waiting);
}

export async function rollback(context: Context, env: string, options: { to?: string; message?: string; emergency?: boolean }, waiting: Waiting): Promise<ExitCode> {
  const operation = dataOf(await context.client.POST('/v1/environments/{env}/rollbacks', {
    params: { path: { env } },
    body: { release: options.to ?? 'previous', ...(options.message ? { message: options.message } : {}), ...(options.emergency ? { emergency: true } : {}) },
  }));
  return settle(context, operation as Operation, waiting);
}

/** Approve or reject: prints the operation as the decision left it; exit 0 once the decision is recorded. */
export async function decide(context: Context, decision: 'approve' | 'reject', id: string, comment?: string): Promise<ExitCode> {
  const path = decision === 'approve' ? '/v1/operations/{id}/approve' as const : '/v1/operations/{id}/reject' as const;
  const operation = dataOf(await context.client.POST(path, { params: { path: { id } }, body: comment ? { comment } : {} })) as Operation;
  print(context, operation, () => describeOperation(operation));
  return EXIT.succeeded;
}
