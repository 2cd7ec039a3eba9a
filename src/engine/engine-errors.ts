// Turns a failed CLI run into an EngineFailure with a code and a message a user can act on:
// the resources the engine reported errors for, the signal that killed the CLI, or the
// holder of a lock, and otherwise the CLI's own error lines. Never the command line, never a
// path of this server, never advice to run a CLI command the caller cannot run.
import type { StackRun } from './cli-run.js';
import { EngineFailure, type EngineFailureCode, type StackLock } from './types.js';

const KNOWN: Array<[RegExp, EngineFailureCode]> = [
  [/the stack is currently locked by|\[409\] Conflict/, 'locked'],
  [/plugin \S+ \S+ not installed|no resource plugin '[^']+' found|could not find plugin/i, 'plugin_missing'],
  [/update canceled|operation canceled|context canceled|Received interrupt signal|signal: interrupt/i, 'cancelled'],
  [/Program exited with non-zero exit code|program failed|Running program '.*' failed|error: .*\.(js|ts)/i, 'program_failed'],
];

const VIOLATES_PLAN = /violates plan|plan violation/i;
const LOCK_HOLDER = /created by (\S+?)@(\S+) \(pid (\d+)\) at (\S+)/g;
const MAX_MESSAGE = 2000;

export interface FailureContext {
  /** The service sent the CLI its one SIGINT. */
  aborted: boolean;
  /** Folders whose paths are replaced before a message is shown (the run's workspace). */
  hidePaths?: string[];
}

export function toEngineFailure(run: Pick<StackRun, 'exit' | 'failedResources' | 'errors'>, context: FailureContext): EngineFailure {
  const { exit } = run;
  const hide = (text: string) => scrub(text, context.hidePaths ?? []);
  if (context.aborted) return new EngineFailure('cancelled', 'the operation was cancelled');
  if (exit.signal) {
    return new EngineFailure('engine_killed', `the Pulumi CLI was killed by ${exit.signal} before the operation finished (an out-of-memory kill or an operator); `
      + 'Stackpilot ended its remaining processes and released its lock; the next operation reports what it left pending', { signal: exit.signal, exitCode: null });
  }
  // Pulumi checks a saved plan one resource at a time, reporting a violation as that resource's error.
  const violations = run.failedResources.filter((r) => VIOLATES_PLAN.test(r.message));
  if (violations.length || VIOLATES_PLAN.test(exit.stderr)) {
    const lines = violations.length ? violations.map((r) => `${r.urn}: ${firstLines(r.message)}`) : [lastDiagnostics(exit.stderr)];
    return new EngineFailure('plan_violated', hide(limit(`the update left its approved plan, so the engine stopped it: ${lines.join('\n')}`)), { exitCode: exit.code });
  }
  if (run.failedResources.length) {
    const lines = run.failedResources.map((r) => `${r.urn}: ${firstLines(r.message)}`);
    return new EngineFailure('resource_failed', hide(limit(lines.join('\n'))), { resources: run.failedResources.map((r) => ({ ...r, message: hide(r.message) })), exitCode: exit.code });
  }
  const stderr = exit.stderr;
  const code = KNOWN.find(([pattern]) => pattern.test(stderr))?.[1] ?? (run.errors.some((e) => /program/i.test(e)) ? 'program_failed' : 'engine_failed');
  if (code === 'locked') {
    const holders = lockHolders(stderr);
    return new EngineFailure('locked', lockedMessage(holders), { lockHolders: holders, exitCode: exit.code });
  }
  const message = run.errors.length ? run.errors.map(firstLines).join('\n') : lastDiagnostics(stderr);
  return new EngineFailure(code, hide(limit(message || `the Pulumi CLI exited with ${exit.code} without a message`)), { exitCode: exit.code });
}

/** What a lock conflict says to an API caller: who holds the stack, and what will happen. */
export function lockedMessage(holders: readonly StackLock[]): string {
  const who = holders.length
    ? holders.map((h) => `${h.username}@${h.hostname} (pid ${h.pid}) since ${h.timestamp}`).join(', ')
    : 'another process';
  return `the stack is locked by ${who}. Stackpilot never breaks another holder's lock: the operation can run once that holder ends; `
    + 'a lock left by a dead process is cleared in a repair session';
}

function lockHolders(stderr: string): StackLock[] {
  return [...stderr.matchAll(LOCK_HOLDER)].map(([, username, hostname, pid, timestamp]) => ({
    username: username!, hostname: hostname!, pid: Number(pid), timestamp: timestamp!,
  }));
}

/** The CLI's `error:` lines, or its last lines; never the command line it was started with. */
function lastDiagnostics(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('code:') && !/^(stdout|stderr|err\?):/.test(l) && !/^Command failed/.test(l));
  const errors = lines.filter((l) => l.startsWith('error:'));
  return (errors.length ? errors : lines).slice(-5).join('\n');
}

function firstLines(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 6).join(' ');
}

function limit(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

function scrub(text: string, paths: readonly string[]): string {
  return paths.reduce((out, path) => out.split(path).join('<program>'), text);
}
