// The container image, built and run for real. `npm run image` builds it from scratch; it runs
// non-root with a read-only root filesystem on the host network, against this machine's
// PostgreSQL, with its bootstrap key, database URL and kubeconfig mounted as files; from
// inside it, development is previewed and updated on a local cluster of the test's own (so
// the shared one's development namespaces are never touched), with every Deployment Ready per
// the Kubernetes API. SIGTERM during an operation drains it: the container exits 0, none of
// its processes is left, and a new container on the same volume finds the operation finished
// and runs again.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { container, findContainerCli, freePort, processesInNamespace, stillRunning } from '../support/containers.js';
import { newKeyToken } from '../support/credentials.js';
import { DATABASES, createPostgresDatabase, type TestDatabase } from '../support/databases.js';
import { flattenKubeconfig, kubectlJson } from '../support/kubectl.js';
import { repoDir } from '../support/programs.js';

const { cli, reason } = findContainerCli();
const USER_ID = 10001; // the image's non-root user
const suffix = randomBytes(4).toString('hex');
const clusterEnv = { ...process.env, STACKPILOT_CLUSTER_NAME: `image-test-${suffix}`, STACKPILOT_CLUSTER_REAL_NODE: 'false' };

function node(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(process.execPath, [join(repoDir, script), ...args], { cwd: repoDir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new Error(`${script} ${args.join(' ')} failed with status ${result.status}`);
  return result.stdout.trim().split('\n').at(-1) ?? '';
}

describe.skipIf(!cli)(`the container image${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const run = (...args: string[]) => container(cli!, ...args);
  let image: string;
  let kubeconfig: string;
  let database: TestDatabase | undefined;
  let secrets: string;
  let stacks: string;
  const volume = `stackpilot-image-test-${suffix}`;
  const names: string[] = [];
  let url: string;
  let key: string;

  /** Starts a container on the volume; resolves once /readyz answers 200, with the time it took. */
  async function start(name: string): Promise<number> {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    names.push(name);
    const started = Date.now();
    await run('run', '--detach', '--name', name, '--network', 'host', '--read-only', '--tmpfs', '/tmp',
      '--volume', `${volume}:/data`, '--volume', `${secrets}:/run/secrets/stackpilot:ro`,
      // The operator's own stack settings, mounted over the ones baked in.
      '--volume', `${stacks}:/app/project/stacks:ro`,
      '--env', 'STACKPILOT_HOST=127.0.0.1', '--env', `STACKPILOT_PORT=${port}`,
      '--env', 'STACKPILOT_BOOTSTRAP_ADMIN_KEY_FILE=/run/secrets/stackpilot/bootstrap-admin-key',
      ...(database ? ['--env', 'DATABASE_URL_FILE=/run/secrets/stackpilot/database-url'] : []),
      '--env', 'STACKPILOT_KUBECONFIG=/run/secrets/stackpilot/kubeconfig',
      '--env', 'STACKPILOT_SHUTDOWN_GRACE_SECONDS=120',
      image);
    for (;;) {
      const status = await fetch(`${url}/readyz`).then((r) => r.status, () => 0);
      if (status === 200) return Date.now() - started;
      if (await run('inspect', '--format', '{{.State.Running}}', name) !== 'true') {
        throw new Error(`the container exited before it was ready:\n${await run('logs', name).catch(() => '')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function api(path: string, body?: unknown) {
    const response = await fetch(`${url}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    expect(response.status, `${path}: ${response.status}`).toBeLessThan(300);
    return response.json();
  }

  async function operate(type: string) {
    const { id } = await api('/v1/environments/development/operations', { type });
    for (;;) {
      const operation = await api(`/v1/operations/${id}?wait=60`);
      if (!['queued', 'running'].includes(operation.status)) return operation;
    }
  }

  /** SIGTERM to the container; returns its exit code and the processes it had, then. */
  async function terminate(name: string) {
    const processes = processesInNamespace(Number(await run('inspect', '--format', '{{.State.Pid}}', name)));
    await run('kill', '--signal', 'TERM', name);
    const exitCode = Number(await run('wait', name));
    return { exitCode, processes, logs: await run('logs', name) };
  }

  beforeAll(async () => {
    image = node('image/build.mjs', []).replace(/^IMAGE=/, '');
    kubeconfig = node('toolchain/cluster.mjs', ['up'], clusterEnv).replace(/^KUBECONFIG=/, '');
    if (DATABASES.includes('postgres')) database = await createPostgresDatabase();
    key = newKeyToken();
    secrets = mkdtempSync(join(tmpdir(), 'stackpilot-image-secrets-'));
    const files: Record<string, string> = {
      'bootstrap-admin-key': `${key}\n`,
      // Self-contained (certificates inline): the container cannot read the cluster's pki folder.
      kubeconfig: await flattenKubeconfig(kubeconfig),
      ...(database ? { 'database-url': database.url } : {}),
    };
    for (const [file, content] of Object.entries(files)) {
      writeFileSync(join(secrets, file), content, { mode: 0o400 });
      chownSync(join(secrets, file), USER_ID, USER_ID);
    }
    chownSync(secrets, USER_ID, USER_ID);
    // This cluster has simulated nodes only (the machine's one real node belongs to the shared
    // cluster), so development's pods go where kwok marks them Ready.
    stacks = mkdtempSync(join(tmpdir(), 'stackpilot-image-stacks-'));
    cpSync(join(repoDir, 'stacks'), stacks, { recursive: true });
    const development = join(stacks, 'Pulumi.development.yaml');
    const simulated = readFileSync(development, 'utf8').replace(/(localNode:) real/, '$1 simulated');
    expect(simulated).toContain('localNode: simulated');
    writeFileSync(development, simulated);
    chownSync(stacks, USER_ID, USER_ID);
    await run('volume', 'create', volume);
  }, 20 * 60_000);

  afterAll(async () => {
    for (const name of names) await run('rm', '--force', name).catch(() => undefined);
    if (cli) await run('volume', 'rm', '--force', volume).catch(() => undefined);
    await database?.drop();
    if (secrets) rmSync(secrets, { recursive: true, force: true });
    if (stacks) rmSync(stacks, { recursive: true, force: true });
    if (cli) node('toolchain/cluster.mjs', ['down'], clusterEnv);
  });

  it('is built from scratch, non-root, within its size budget', async () => {
    const [user, size, layers] = (await run('image', 'inspect', '--format', '{{.Config.User}}|{{.Size}}|{{len .RootFS.Layers}}', image)).split('|');
    expect(user).toBe(`${USER_ID}:${USER_ID}`);
    expect(Number(layers)).toBe(1); // the root filesystem tarball, and no base image beneath it
    console.log(`image ${image}: ${(Number(size) / 1e6).toFixed(0)} MB uncompressed`);
  });

  it('refuses a secret file it cannot read, in one line that says what to do', async () => {
    const result = spawnSync(cli!, ['run', '--rm', '--read-only', '--tmpfs', '/tmp', '--env', 'DATABASE_URL_FILE=/run/secrets/missing', image], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('stackpilot: invalid configuration: DATABASE_URL_FILE: cannot read /run/secrets/missing\n');
  });

  it('previews and updates development from inside the container, every Deployment Ready', async () => {
    console.log(`start-up to /readyz: ${await start(`stackpilot-image-test-${suffix}-a`)} ms`);
    const preview = await operate('preview');
    expect(preview.status, preview.error).toBe('succeeded');
    const update = await operate('update');
    expect(update.status, update.error).toBe('succeeded');
    for (const name of ['backend', 'frontend']) {
      const deployment = await kubectlJson(kubeconfig, '-n', 'toronto-ai-development', 'get', 'deployment', name);
      expect(deployment?.status?.readyReplicas, name).toBe(1);
    }
    const db = await kubectlJson(kubeconfig, '-n', 'toronto-ai-development-data', 'get', 'statefulset', 'postgres');
    expect(db?.status?.readyReplicas).toBe(1);
  });

  it('drains on SIGTERM, leaves no process behind, and runs again on the same volume', async () => {
    const [first] = names;
    const { id } = await api('/v1/environments/development/operations', { type: 'refresh' });
    while ((await api(`/v1/operations/${id}`)).status !== 'running') await new Promise((resolve) => setTimeout(resolve, 100));
    const { exitCode, processes, logs } = await terminate(first!);
    expect(processes.map((p) => p.command)).toContain('pulumi'); // the refresh's engine was running
    expect(processes.filter((p) => p.uid !== USER_ID)).toEqual([]); // tini included
    expect(exitCode, logs).toBe(0);
    expect(stillRunning(processes)).toEqual([]);

    await start(`stackpilot-image-test-${suffix}-b`);
    const drained = await api(`/v1/operations/${id}`);
    expect(drained.status, drained.error).toBe('succeeded');
    const again = await operate('preview');
    expect(again.status, again.error).toBe('succeeded');
    const second = await terminate(names.at(-1)!);
    expect(second.exitCode, second.logs).toBe(0);
    expect(stillRunning(second.processes)).toEqual([]);
  });
});
