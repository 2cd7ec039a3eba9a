// Runs the Pulumi CLI. Each run gets the environment it is given (a fresh object per spawn)
// and its own process group: a signal sent to the service's group (a terminal's Ctrl-C,
// systemd's stop) never reaches the engine directly; only the service decides when to
// interrupt it, with exactly one SIGINT, because a second one may orphan resources.
import { spawn } from 'node:child_process';

export interface CliCall {
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Written to stdin (secret values go here, never on the command line). */
  input?: string;
  /** Aborting sends the CLI one SIGINT: a graceful stop. */
  signal?: AbortSignal;
  onStdout?(text: string): void;
  onSpawn?(pid: number): void;
}

export interface CliExit {
  code: number | null;
  /** The signal that ended the CLI, when one did. */
  signal: NodeJS.Signals | null;
  pid: number | undefined;
  stdout: string;
  /** The last 64 KiB of stderr. */
  stderr: string;
}

const STDERR_KEPT = 64 * 1024;
const STDOUT_KEPT = 4 * 1024 * 1024;

export function runCli(cli: string, call: CliCall): Promise<CliExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli, call.args, {
      cwd: call.cwd,
      env: call.env,
      stdio: [call.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    if (child.pid !== undefined) call.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      if (call.onStdout) call.onStdout(text);
      else if (stdout.length < STDOUT_KEPT) stdout += text;
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-STDERR_KEPT);
    });
    if (call.input !== undefined) child.stdin!.end(call.input);
    const interrupt = () => child.kill('SIGINT');
    call.signal?.addEventListener('abort', interrupt, { once: true });
    if (call.signal?.aborted) interrupt();
    child.once('error', reject);
    child.once('close', (code, signal) => {
      call.signal?.removeEventListener('abort', interrupt);
      resolve({ code, signal, pid: child.pid, stdout, stderr });
    });
  });
}
