// Long-running processes that `cluster up` starts and leaves running (containerd, CoreDNS, the
// kubelet): each detached in its own session with its output in a log file and its pid in a
// file, so that a later `up` finds it running and `down` stops it by that pid, never by name.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const pidFile = (dir, name) => join(dir, `${name}.pid`);
export const logFile = (dir, name) => join(dir, `${name}.log`);

/** The command line of a live process, or undefined. */
export function commandLine(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** The pid of the daemon `name` if it is alive and still the program it was started as. */
export function daemonPid(dir, name, program) {
  if (!existsSync(pidFile(dir, name))) return undefined;
  const pid = Number(readFileSync(pidFile(dir, name), 'utf8'));
  const args = commandLine(pid);
  return args?.[0] === program ? pid : undefined;
}

export function startDaemon(dir, name, program, args, env = process.env) {
  const log = openSync(logFile(dir, name), 'a');
  try {
    const child = spawn(program, args, { detached: true, stdio: ['ignore', log, log], env });
    child.unref();
    writeFileSync(pidFile(dir, name), String(child.pid));
    return child.pid;
  } finally {
    closeSync(log);
  }
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGTERM, then SIGKILL after `seconds`; resolves once the process is gone. */
export async function stopDaemon(dir, name, program, seconds = 20) {
  const pid = daemonPid(dir, name, program);
  if (pid) await stopPid(pid, seconds);
  rmSync(pidFile(dir, name), { force: true });
}

export async function stopPid(pid, seconds = 20) {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + seconds * 1000;
  while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  while (alive(pid) && !isZombie(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
}

function isZombie(pid) {
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ' '));
  } catch {
    return true;
  }
}
