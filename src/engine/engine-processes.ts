// Finds and ends the engine processes of an operation on this host. Each engine process
// carries STACKPILOT_OPERATION_ID in its environment (the CLI gets it from us; its language
// host, program and providers inherit it), so any service process can tell, after a crash,
// whether an operation's CLI still runs, and which of its plugins were orphaned.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { EngineProcess } from './types.js';

export const OPERATION_ENV = 'STACKPILOT_OPERATION_ID';

export function engineProcesses(operationId: string): EngineProcess[] {
  const marker = `\0${OPERATION_ENV}=${operationId}\0`;
  const found: EngineProcess[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found; // not Linux: nothing can be seen, the lease alone decides
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!`\0${readFileSync(`/proc/${entry}/environ`, 'latin1')}\0`.includes(marker)) continue;
      found.push({ pid: Number(entry), command: basename(readlinkSync(`/proc/${entry}/exe`)) });
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** True when the CLI itself still runs: then it holds the stack lock rightfully. */
export function isCliAlive(processes: readonly EngineProcess[]): boolean {
  return processes.some((p) => p.command === 'pulumi');
}

/** Kills every process of the operation (SIGKILL: with its engine gone, a plugin can only hold resources). */
export function endEngineProcesses(operationId: string): EngineProcess[] {
  const ended: EngineProcess[] = [];
  for (const found of engineProcesses(operationId)) {
    try {
      process.kill(found.pid, 'SIGKILL');
      ended.push(found);
    } catch {
      // already gone
    }
  }
  return ended;
}
