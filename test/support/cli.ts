// Runs the `stackpilot` CLI as CI would: a process of its own, with its settings in the
// environment, and its exit code, stdout and stderr to check.
import { spawn, type ChildProcess } from 'node:child_process';
import { repoDir } from './programs.js';

export interface CliRun {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Resolves with the exit code. */
  exited: Promise<number>;
}

export function startCli(args: string[], env: Record<string, string>): CliRun {
  const child = spawn(process.execPath, ['cli/bin.mjs', ...args], { cwd: repoDir, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: CliRun = { child, stdout: [], stderr: [], exited: new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 128))) };
  child.stdout!.on('data', (chunk: Buffer) => run.stdout.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => run.stderr.push(chunk.toString()));
  return run;
}

export async function runCli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = startCli(args, env);
  const code = await run.exited;
  return { code, stdout: run.stdout.join(''), stderr: run.stderr.join('') };
}
