// `kubectl port-forward` to a pod, through the API server and the real node's kubelet, on a
// free local port: how a test reaches what runs on the real node.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { toolchainPaths } from '../../toolchain/versions.mjs';

export interface PortForward {
  url: string;
  close(): void;
}

export function portForward(kubeconfig: string, namespace: string, target: string, port: number): Promise<PortForward> {
  const child = spawn(join(toolchainPaths().bin, 'kubectl'),
    ['--kubeconfig', kubeconfig, '-n', namespace, 'port-forward', '--address', '127.0.0.1', target, `:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`port-forward to ${namespace}/${target} did not start: ${output}`));
    }, 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const local = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output)?.[1];
      if (local) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${local}`, close: () => child.kill() });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`port-forward to ${namespace}/${target} exited with ${code}: ${output}`));
    });
  });
}
