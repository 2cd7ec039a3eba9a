// Finds and ends the engine processes of an operation on this host. Each engine process
// carries STACKPILOT_OPERATION_ID in its environment (the CLI gets it from us; its language
// host, program and providers inherit it), so any service process can tell, after a crash,
// whether an operation's CLI still runs, and which of its plugins were orphaned.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { EngineProcess } from './types.js';

export const OPERATION_ENV = 'STACKPILOT_OPERATION_ID';
const OPERATION_TAG = new RegExp(`(?:^|\\0)${OPERATION_ENV}=([^\\0]+)`);

export function engineProcesses(operationId: string): EngineProcess[] {
  return engineProcessesByOperation().get(operationId) ?? [];
}

/** Every engine process on this host, grouped by the operation id in its environment: one pass over /proc. */
export function engineProcessesByOperation(): Map<string, EngineProcess[]> {
  const byOperation = new Map<string, EngineProcess[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return byOperation; // not Linux: nothing can be seen, the lease alone decides
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const operationId = OPERATION_TAG.exec(readFileSync(`/proc/${entry}/environ`, 'latin1'))?.[1];
      if (!operationId) continue;
      const found = { pid: Number(entry), command: basename(readlinkSync(`/proc/${entry}/exe`)) };
      byOperation.set(operationId, [...(byOperation.get(operationId) ?? []), found]);
    } catch {
      // gone, or not ours to read
    }
  }
  return byOperation;
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
