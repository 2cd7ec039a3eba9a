// Reads the cluster through the toolchain's kubectl: the tests check Kubernetes' own view,
// not what Pulumi reports.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolchainPaths } from '../../toolchain/versions.mjs';

const run = promisify(execFile);

export async function kubectlJson<T = any>(kubeconfig: string, ...args: string[]): Promise<T | undefined> {
  try {
    const { stdout } = await run(join(toolchainPaths().bin, 'kubectl'), ['--kubeconfig', kubeconfig, ...args, '-o', 'json']);
    return JSON.parse(stdout) as T;
  } catch (error) {
    if (String((error as { stderr?: string }).stderr).includes('NotFound')) return undefined;
    throw error;
  }
}

/**
 * Waits until a workload's controller has rolled out its latest spec. kubectl compares the
 * status's observedGeneration with the spec's generation; the Kubernetes provider's StatefulSet
 * await does not, so an update can end while the StatefulSet's pod is still being replaced.
 */
export async function rolloutStatus(kubeconfig: string, namespace: string, workload: string, timeoutSeconds = 120): Promise<void> {
  await run(join(toolchainPaths().bin, 'kubectl'), ['--kubeconfig', kubeconfig, '-n', namespace, 'rollout', 'status', workload, `--timeout=${timeoutSeconds}s`]);
}

/** The kubeconfig with its certificates inline, for a reader that cannot see the files it names. */
export async function flattenKubeconfig(kubeconfig: string): Promise<string> {
  const { stdout } = await run(join(toolchainPaths().bin, 'kubectl'), ['--kubeconfig', kubeconfig, 'config', 'view', '--raw', '--flatten', '--minify']);
  return stdout;
}
