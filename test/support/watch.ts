// A Kubernetes watch through the toolchain's kubectl: one line per change of the object, for
// tests that must see every state something passed through, not just the last one.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { toolchainPaths } from '../../toolchain/versions.mjs';

export interface Watch {
  /** Every line seen so far, one per event (the first is the state when the watch began). */
  lines: string[];
  stop(): void;
}

/** Watches `kind/name`, printing `jsonpath` for each event. */
export function watchObject(kubeconfig: string, namespace: string, object: string, jsonpath: string): Promise<Watch> {
  const child = spawn(join(toolchainPaths().bin, 'kubectl'),
    ['--kubeconfig', kubeconfig, '-n', namespace, 'get', object, '--watch', '-o', `jsonpath=${jsonpath}{"\\n"}`],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffer = '';
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => { errors += chunk.toString(); });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`watch of ${object} ended with ${code}: ${errors}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const complete = buffer.split('\n');
      buffer = complete.pop() ?? '';
      lines.push(...complete.filter(Boolean));
      if (lines.length) resolve({ lines, stop: () => child.kill() });
    });
  });
}
