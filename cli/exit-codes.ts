// What the CLI's exit code says, in one table, so CI can branch on it. An operation's status
// maps to a code; statuses that issue 10 (releases) adds are here already, one entry each.

export const EXIT = {
  succeeded: 0,
  failed: 1,
  cancelled: 2,
  /** Awaiting approval, scheduled for later, or the wait timed out: the outcome is not known yet. */
  pending: 3,
  /** The command line or the credential is wrong: retrying the same call will not help. */
  usage: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const BY_STATUS: Record<string, ExitCode> = {
  succeeded: EXIT.succeeded,
  failed: EXIT.failed,
  interrupted: EXIT.failed,
  expired: EXIT.failed,
  rejected: EXIT.failed,
  cancelled: EXIT.cancelled,
  awaiting_approval: EXIT.pending,
  scheduled: EXIT.pending,
  queued: EXIT.pending,
  running: EXIT.pending,
  recovering: EXIT.pending,
};

/** The exit code an operation's status calls for (an unknown status is not a success). */
export function exitCodeOf(status: string): ExitCode {
  return BY_STATUS[status] ?? EXIT.failed;
}

/** Statuses after which waiting longer changes nothing: the end, or a person's decision. */
export function stopsWaiting(status: string): boolean {
  return !['queued', 'running', 'recovering'].includes(status);
}

/** A failure that ends the command with a given code and one line on stderr. */
export class CliError extends Error {
  constructor(readonly exitCode: ExitCode, message: string) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(EXIT.usage, message);
