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

/** The kubeconfig with its certificates inline, for a reader that cannot see the files it names. */
export async function flattenKubeconfig(kubeconfig: string): Promise<string> {
  const { stdout } = await run(join(toolchainPaths().bin, 'kubectl'), ['--kubeconfig', kubeconfig, 'config', 'view', '--raw', '--flatten', '--minify']);
  return stdout;
}
