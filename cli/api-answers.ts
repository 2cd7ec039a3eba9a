// Turns the client's answers into what the CLI does next: the data, or a CliError whose exit
// code says whether retrying could help (a problem with the request or the credential: 4).
import { CliError, EXIT } from './exit-codes.js';

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** Statuses that mean the command itself (its arguments or its credential) is wrong. */
const USAGE_STATUSES = new Set([400, 401, 403, 404, 405, 412, 413, 415, 422]);

export function dataOf<T>(answer: Answer<T>): T {
  if (answer.response.ok && answer.data !== undefined) return answer.data;
  const problem = (answer.error ?? {}) as { code?: string; detail?: string };
  const status = answer.response.status;
  const detail = problem.detail ?? answer.response.statusText;
  throw new CliError(USAGE_STATUSES.has(status) ? EXIT.usage : EXIT.failed, `${status} ${problem.code ?? 'error'}: ${detail}`);
}

/** A network failure (refused, reset, DNS) as one line. */
export function unreachable(baseUrl: string, error: unknown): CliError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return new CliError(EXIT.failed, `cannot reach ${baseUrl}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
}
