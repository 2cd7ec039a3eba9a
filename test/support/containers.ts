// Running the service's image with the container CLI (podman, or docker where podman cannot
// run), and seeing its processes from the host: the tests check what the kernel says, not
// what the container runtime reports.
import { execFile } from 'node:child_process';
import { readFileSync, readlinkSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { containerCli } from '../../image/container-cli.mjs';

const execFileAsync = promisify(execFile);

/** The container CLI, or why none can run here (then the tests that need one are skipped). */
export function findContainerCli(): { cli?: string; reason?: string } {
  try {
    return { cli: containerCli(() => undefined) };
  } catch (error) {
    return { reason: (error as Error).message };
  }
}

export async function container(cli: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(cli, args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/** A TCP port free on loopback now (the container listens on the host network). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const pidNamespace = (pid: number | string) => readlinkSync(`/proc/${pid}/ns/pid`);

/** Host pids of every process in the PID namespace whose init has host pid `initPid`. */
export function processesInNamespace(initPid: number): Array<{ pid: number; namespace: string; command: string; uid: number }> {
  const namespace = pidNamespace(initPid);
  const found = [];
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (pidNamespace(entry) !== namespace) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      found.push({
        pid: Number(entry),
        namespace,
        command: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?',
        uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]),
      });
    } catch {
      // ended while we looked
    }
  }
  return found;
}

/** Those of `processes` still alive in their namespace. */
export function stillRunning(processes: Array<{ pid: number; namespace: string }>) {
  return processes.filter(({ pid, namespace }) => {
    try {
      return pidNamespace(pid) === namespace;
    } catch {
      return false;
    }
  });
}
