// The container CLI that builds and runs the image here: podman on runc (installed and
// configured by toolchain/containers.mjs when missing), else a docker whose daemon answers.
import { spawnSync } from 'node:child_process';
import { ensurePodman } from '../toolchain/containers.mjs';

const answers = (cli) => spawnSync(cli, ['info'], { stdio: 'ignore' }).status === 0;

/** Returns 'podman' or 'docker', or throws one line saying why neither can run. */
export function containerCli(log) {
  const reasons = [];
  try {
    const podman = ensurePodman(log);
    if (answers(podman)) return podman;
    reasons.push('podman is installed but `podman info` fails');
  } catch (error) {
    reasons.push(`podman: ${error.message}`);
  }
  if (answers('docker')) return 'docker';
  reasons.push('docker: no daemon answers `docker info`');
  throw new Error(`no container runtime can run here (${reasons.join('; ')})`);
}

/**
 * Build flags that differ: podman stamps one timestamp for a reproducible image and keeps no
 * intermediate image per step (a build runs only when something changed, so their cache
 * would only pile up); docker builds without BuildKit.
 */
export function buildOptions(cli, timestamp) {
  return cli === 'podman'
    ? { args: ['--timestamp', String(timestamp), '--layers=false'], env: process.env }
    : { args: [], env: { ...process.env, DOCKER_BUILDKIT: '0' } };
}
