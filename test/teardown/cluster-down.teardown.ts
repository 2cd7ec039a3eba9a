// `npm run cluster -- down` leaves nothing of the cluster behind: no process, mount, cgroup,
// network interface, iptables chain or folder of the real node, and no control-plane process.
// `npm test` runs this file last, on its own (vitest.teardown.config.ts), because it brings
// down the cluster every other test file used.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { leftovers } from '../../toolchain/real-node-leftovers.mjs';
import { realNodePaths } from '../../toolchain/real-node.mjs';
import { repoDir } from '../support/programs.js';

describe('cluster down', () => {
  it('removes the real node and the control plane, leaving nothing behind', () => {
    const { dir } = realNodePaths();
    // The node is really there to begin with: its processes, mounts, cgroups, bridge, folders.
    const before = leftovers(dir);
    expect(before.some((line) => line.startsWith('process '))).toBe(true);
    expect(before.some((line) => line.startsWith('cgroup '))).toBe(true);
    expect(before).toContain('network interface stackpilot0');

    const down = spawnSync(process.execPath, [join(repoDir, 'toolchain', 'cluster.mjs'), 'down'], { cwd: repoDir, encoding: 'utf8' });
    expect(down.status, down.stderr).toBe(0);
    expect(leftovers(dir)).toEqual([]);
    const cluster = process.env.STACKPILOT_CLUSTER_NAME ?? 'stackpilot';
    const controlPlane = spawnSync('pgrep', ['-f', `/kwok/clusters/${cluster}/bin/(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok-controller) `], { encoding: 'utf8' });
    expect(controlPlane.stdout.trim()).toBe('');
  });
});
