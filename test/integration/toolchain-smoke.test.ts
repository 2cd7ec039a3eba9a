// The toolchain, end to end: the pinned CLI drives the real engine, our language host runs a
// Node program, the kubernetes plugin deploys to the local cluster, and Kubernetes itself
// confirms the result. No mock anywhere.
import { LocalWorkspace, PulumiCommand, type Stack } from '@pulumi/pulumi/automation/index.js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVersions, toolchainPaths } from '../../toolchain/versions.mjs';
import { pulumiEnv } from '../../src/engine/pulumi-env.js';
import { kubectlJson } from '../support/kubectl.js';
import { copyProgram, requireKubeconfig, type TempProgram } from '../support/programs.js';

describe('toolchain smoke test', () => {
  const kubeconfig = requireKubeconfig();
  const namespace = `smoke-${randomBytes(3).toString('hex')}`;
  let program: TempProgram;
  let stack: Stack;
  let cli: PulumiCommand;

  beforeAll(async () => {
    program = copyProgram('k8s-smoke');
    cli = await PulumiCommand.get({ root: toolchainPaths().root });
    stack = await LocalWorkspace.createStack(
      { stackName: 'smoke', workDir: program.dir },
      { pulumiCommand: cli, envVars: pulumiEnv({ backendUrl: program.backendUrl, passphraseFile: program.passphraseFile, path: process.env.PATH ?? '' }) },
    );
    await stack.setAllConfig({ kubeconfig: { value: kubeconfig }, namespace: { value: namespace } });
  });

  afterAll(async () => {
    // Leave nothing behind even when an assertion failed half-way.
    await stack?.destroy().catch(() => undefined);
    program?.remove();
  });

  it('runs the pinned CLI version', async () => {
    expect(cli.version?.toString()).toBe(readVersions().pulumi);
  });

  it('creates a Namespace and a Deployment that Kubernetes reports Ready', async () => {
    const result = await stack.up();
    expect(result.summary.result).toBe('succeeded');
    expect(result.summary.resourceChanges).toMatchObject({ create: 4 }); // stack, provider, namespace, deployment
    const deployment = await kubectlJson(kubeconfig, '-n', namespace, 'get', 'deployment', 'smoke');
    expect(deployment?.status).toMatchObject({ replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 });
  });

  it('finds no drift on refresh', async () => {
    const result = await stack.refresh();
    expect(result.summary.result).toBe('succeeded');
    expect(Object.keys(result.summary.resourceChanges ?? {})).toEqual(['same']);
  });

  it('removes everything on destroy', async () => {
    const result = await stack.destroy();
    expect(result.summary.result).toBe('succeeded');
    expect(result.summary.resourceChanges).toMatchObject({ delete: 4 });
    expect(await kubectlJson(kubeconfig, 'get', 'namespace', namespace)).toBeUndefined();
  });
});
