// Where the CLI writes: machine-readable JSON with --json, words otherwise; a live progress
// line only when stdout is a terminal.
import type { ApiClient } from './client.js';

export interface Context {
  client: ApiClient;
  baseUrl: string;
  json: boolean;
  /** stdout is a terminal: progress may be redrawn in place. */
  tty: boolean;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Redraws the one live line (terminals only). */
  status: (line: string) => void;
}

export function consoleContext(client: ApiClient, baseUrl: string, json: boolean): Context {
  const tty = Boolean(process.stdout.isTTY) && !json;
  let live = false;
  const clear = () => {
    if (live) process.stdout.write('\r\x1b[2K');
    live = false;
  };
  return {
    client, baseUrl, json, tty,
    out: (line) => (clear(), process.stdout.write(`${line}\n`)),
    err: (line) => (clear(), process.stderr.write(`${line}\n`)),
    status: (line) => {
      process.stdout.write(`\r\x1b[2K${line}`);
      live = true;
    },
  };
}

interface OperationLike {
  id: string;
  environment: string;
  type: string;
  status: string;
  requestedBy: string;
  error?: string | null;
  errorCode?: string | null;
  summary?: Record<string, number> | null;
}

export function describeOperation(operation: OperationLike): string {
  const summary = operation.summary ? ` ${Object.entries(operation.summary).map(([k, n]) => `${k}=${n}`).join(' ')}` : '';
  const error = operation.error ? `\n  ${operation.errorCode ?? 'error'}: ${operation.error}` : '';
  return `${operation.id} ${operation.type} ${operation.environment} ${operation.status} (by ${operation.requestedBy})${summary}${error}`;
}

export function print(context: Context, value: unknown, words: () => string): void {
  context.out(context.json ? JSON.stringify(value) : words());
}
