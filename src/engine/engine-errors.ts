// Turns Automation API errors into EngineFailure with a reason and a message fit to show.
// A CommandError's own message starts with the full command line; only the CLI's last
// diagnostic lines are kept, and the recognised texts below decide the reason.
import { ConcurrentUpdateError } from '@pulumi/pulumi/automation/index.js';
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
  if (error instanceof ConcurrentUpdateError) return new EngineFailure('locked', message);
  const reason = KNOWN.find(([pattern]) => pattern.test(stderr))?.[1] ?? 'engine_failed';
  return new EngineFailure(reason, message);
}

/** The CLI's `error:` lines, or its last lines; never the command line it was started with. */
function lastDiagnostics(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('code:') && !/^(stdout|stderr|err\?):/.test(l));
  const errors = lines.filter((l) => l.startsWith('error:'));
  const chosen = (errors.length ? errors : lines).slice(-5).join('\n');
  return chosen.length > 2000 ? `${chosen.slice(0, 2000)}…` : chosen || 'the engine failed without a message';
}
