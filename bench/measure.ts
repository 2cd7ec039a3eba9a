// Small helpers for the benchmark: timing, percentiles, and the real things it drives.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { engineProcessesByOperation } from '../src/engine/engine-processes.js';
import { residentHostsOf } from '../test/support/process.js';

export async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export const median = (values: number[]) => percentile(values, 50);

export function run(cmd: string, args: string[], options: { cwd: string; env: Record<string, string> }): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { ...options, maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) =>
      error ? reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr}`)) : resolve());
  });
}

/** Spawns the CLI with --event-log and resolves when its first engine event is written. */
export function firstCliEvent(pulumi: string, args: string[], options: { cwd: string; env: Record<string, string> }, eventLog: string): Promise<{ first: number; done: Promise<void> }> {
  rmSync(eventLog, { force: true });
  const start = performance.now();
  const child = spawn(pulumi, [...args, '--event-log', eventLog], { ...options, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<void>((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pulumi exited ${code}: ${stderr}`)))));
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (existsSync(eventLog) && readFileSync(eventLog, 'utf8').includes('\n')) {
        clearInterval(poll);
        resolve({ first: performance.now() - start, done });
      }
    }, 2);
    done.catch((error) => {
      clearInterval(poll);
      reject(error);
    });
  });
}

export function eventLogPath(dir: string, name: string): string {
  return join(dir, `${name}.events.jsonl`);
}

/** A process's resident set (VmRSS), in bytes; 0 once it is gone. */
export function rssOf(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** A process's CPU time so far (user + system), in milliseconds; 0 once it is gone. */
export function cpuOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS = 100; // USER_HZ: 100 on every Linux this runs on

/**
 * Samples the engine processes every `everyMs` until stopped: the peak resident memory of any
 * one operation, and the CPU time each operation's processes used (each process's last
 * sample: the CPU of its last moments, under `everyMs`, is missed, so this is a lower bound).
 *
 * A resident language host (this process's child, shared by the operations of its stack) carries
 * no operation's tag: what all hosts used between start and stop is shared equally among the
 * operations seen, and the largest host's memory is added to the peak (a host runs one operation
 * at a time, so that bounds one operation's share from above).
 */
export function sampleEngine(everyMs = 100): { stop(): { peakRss: number; cpuByOperation: Map<string, number> } } {
  let peakRss = 0;
  let peakHostRss = 0;
  const cpu = new Map<string, Map<number, number>>();
  const hostCpu = new Map<number, { first: number; last: number }>();
  const sample = () => {
    for (const pid of residentHostsOf(process.pid)) {
      const used = cpuOf(pid);
      hostCpu.set(pid, { first: hostCpu.get(pid)?.first ?? used, last: used });
      peakHostRss = Math.max(peakHostRss, rssOf(pid));
    }
  };
  sample();
  const timer = setInterval(() => {
    sample();
    for (const [id, processes] of engineProcessesByOperation()) {
      peakRss = Math.max(peakRss, processes.reduce((sum, p) => sum + rssOf(p.pid), 0));
      const byPid = cpu.get(id) ?? new Map<number, number>();
      for (const p of processes) byPid.set(p.pid, Math.max(byPid.get(p.pid) ?? 0, cpuOf(p.pid)));
      cpu.set(id, byPid);
    }
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      const hostShare = [...hostCpu.values()].reduce((sum, h) => sum + h.last - h.first, 0) / Math.max(1, cpu.size);
      const cpuByOperation = new Map([...cpu].map(([id, byPid]) => [id, [...byPid.values()].reduce((a, b) => a + b, 0) + hostShare]));
      return { peakRss: peakRss + peakHostRss, cpuByOperation };
    },
  };
}
