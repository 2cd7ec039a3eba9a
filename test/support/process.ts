// Runs the service as a real process (`node --import tsx src/server.ts`), as `npm start`
// does, for tests about crashes, restarts and several replicas.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { repoDir } from './programs.js';

export interface ServiceProcess {
  url: string;
  child: ChildProcess;
  logs: string[];
  /** Ends the process and everything it started (its process group). */
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function spawnService(env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: repoDir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, STACKPILOT_PORT: '0', STACKPILOT_LOG_LEVEL: 'info', ...env },
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

export async function api(base: string, path: string, init: { method?: string; body?: unknown } = {}) {
  const response = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: init.body ? { 'content-type': 'application/json' } : {},
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text, json: () => JSON.parse(text) };
}
