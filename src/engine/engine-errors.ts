// Turns a failed CLI run (cli-run.ts's CliError, or an Automation API CommandError) into an
// EngineFailure with a reason and a message fit to show: only the CLI's last diagnostic lines
// are kept, never the command line, and the recognised texts below decide the reason.
import { EngineFailure, type EngineFailureReason } from './types.js';

const KNOWN: Array<[RegExp, EngineFailureReason]> = [
  [/the stack is currently locked by|\[409\] Conflict/, 'locked'],
  [/plugin \S+ \S+ not installed|no resource plugin '[^']+' found|could not find plugin/i, 'plugin_missing'],
  [/update canceled|operation canceled|context canceled|Received interrupt signal|signal: interrupt/i, 'cancelled'],
  [/Program exited with non-zero exit code|program failed|Running program '.*' failed|error: .*\.(js|ts)/i, 'program_failed'],
];

export function toEngineFailure(error: unknown, aborted: boolean): EngineFailure {
  if (error instanceof EngineFailure) return error;
  const stderr = String((error as { stderr?: string })?.stderr ?? '') || String((error as Error)?.message ?? error);
  const message = lastDiagnostics(stderr);
  if (aborted) return new EngineFailure('cancelled', 'the operation was cancelled');
  const reason = KNOWN.find(([pattern]) => pattern.test(stderr))?.[1] ?? 'engine_failed';
  return new EngineFailure(reason, message);
}

/**
 * The CLI's `error:` lines (with the lines naming a lock's holder), or its last lines; never
 * the command line it was started with.
 */
function lastDiagnostics(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('code:') && !/^(stdout|stderr|err\?):/.test(l));
  const errors = lines.filter((l) => l.startsWith('error:') || /created by .+ \(pid \d+\)/.test(l));
  const chosen = (errors.length ? errors : lines).slice(-5).join('\n');
  return chosen.length > 2000 ? `${chosen.slice(0, 2000)}…` : chosen || 'the engine failed without a message';
}
