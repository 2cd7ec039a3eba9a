// Runs the service as a real process (`node --import tsx src/server.ts`), as `npm start`
// does, for tests about crashes, restarts and several replicas.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { newKeyToken } from './credentials.js';
import { repoDir } from './programs.js';

export interface ServiceProcess {
  url: string;
  /** Its bootstrap admin API key. */
  key: string;
  child: ChildProcess;
  logs: string[];
  /** Ends the process and everything it started (its process group). */
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function spawnService(env: Record<string, string>): Promise<ServiceProcess> {
  const key = env.STACKPILOT_BOOTSTRAP_ADMIN_KEY ?? newKeyToken();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: repoDir,
    // Any free ports: several service processes run side by side (the metrics listener's too).
    env: { PATH: process.env.PATH, HOME: process.env.HOME, STACKPILOT_PORT: '0', STACKPILOT_METRICS_PORT: '0', STACKPILOT_LOG_LEVEL: 'info', STACKPILOT_BOOTSTRAP_ADMIN_KEY: key, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so a test can kill it with all its engine processes
  });
  const logs: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${logs.join('\n')}`)), 60_000);
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        logs.push(line);
        const address = /"address":"([^"]+)"/.exec(line)?.[1];
        if (address && line.includes('"listening"')) {
          clearTimeout(timer);
          resolve(address);
        }
      }
    };
    child.stdout!.on('data', onLine);
    child.stderr!.on('data', onLine);
    child.once('exit', (code) => reject(new Error(`service exited with ${code}:\n${logs.join('\n')}`)));
  });
  return {
    url,
    key,
    child,
    logs,
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      process.kill(-child.pid!, signal);
      await exited;
    },
  };
}

/** A request to a service process, with its admin key. */
export async function api(service: ServiceProcess, path: string, init: { method?: string; body?: unknown } = {}) {
  const response = await fetch(`${service.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${service.key}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text, json: () => JSON.parse(text) };
}

/** Pids of the live processes in a process group (zombies excluded). */
export function processGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid pgrp ...: comm may hold spaces, so read after its closing paren.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** The pids of a process's live children. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The resident language hosts a service in process `pid` started (its children running the host script). */
export function residentHostsOf(pid: number): number[] {
  return childrenOf(pid).filter((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'latin1').includes('resident-language-host.cjs');
    } catch {
      return false; // ended while being read
    }
  });
}
