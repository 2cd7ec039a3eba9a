// No process in the chain that runs the service keeps a secret in its initial environment,
// where a Pulumi program could read it (/proc/<pid>/environ of its own process, the stack's
// resident language host, and of every ancestor): not the server started with
// secrets in its environment (as a container is), which restarts itself without them; not the
// CLI, which gets the passphrase as a file and a postgres:// backend's password through
// PGPASSFILE; not npm start given its secrets as files.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newKeyToken } from '../support/credentials.js';
import { DATABASES, createPostgresDatabase, type TestDatabase } from '../support/databases.js';
import { copyProgram, repoDir, type TempProgram } from '../support/programs.js';
import { api, processGroup, spawnService, type ServiceProcess } from '../support/process.js';
import { setFileConfig } from '../support/stack-config.js';
import { waitFor } from '../support/wait.js';

describe.skipIf(!DATABASES.includes('postgres'))('secrets and the environment programs can read', () => {
  const cleanup: Array<() => unknown> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  async function setting(): Promise<{ program: TempProgram; secrets: Record<string, string>; canaries: string[] }> {
    const program = copyProgram('service-project');
    const [db, state]: TestDatabase[] = await Promise.all([createPostgresDatabase(), createPostgresDatabase()]);
    cleanup.push(() => program.remove(), () => db!.drop(), () => state!.drop());
    // The local server trusts every connection, so these passwords stand for real ones: canaries.
    const withPassword = (url: string, password: string) => Object.assign(new URL(url), { password }).toString();
    const secrets = {
      STACKPILOT_SECRETS_PASSPHRASE: `passphrase-canary-${newKeyToken().slice(3, 20)}`,
      STACKPILOT_BOOTSTRAP_ADMIN_KEY: newKeyToken(),
      DATABASE_URL: withPassword(db!.url, 'dbcanary4711'),
      STACKPILOT_STATE_BACKEND: `${withPassword(state!.url, 'statecanary4712')}?sslmode=disable`,
    };
    const canaries = [secrets.STACKPILOT_SECRETS_PASSPHRASE, secrets.STACKPILOT_BOOTSTRAP_ADMIN_KEY, 'dbcanary4711', 'statecanary4712'];
    setFileConfig(program, 'development', 'probeEnviron', JSON.stringify(canaries) as never);
    return { program, secrets, canaries };
  }

  async function probe(service: ServiceProcess) {
    const { id } = (await api(service, '/v1/environments/development/operations', { method: 'POST', body: { type: 'update' } })).json();
    const done = (await api(service, `/v1/operations/${id}?wait=60`)).json();
    expect(done.status, done.error).toBe('succeeded');
    return done.outputs as { environHits: unknown[]; ancestors: string[] };
  }

  it('finds none in a server started with its secrets in its environment, nor in the engine under it', async () => {
    const { program, secrets } = await setting();
    const service = await spawnService({ STACKPILOT_PROJECT_DIR: program.dir, STACKPILOT_DATA_DIR: join(program.dir, '..', 'data'), ...secrets });
    cleanup.push(() => service.kill('SIGKILL'));
    const outputs = await probe(service);
    expect(outputs.environHits).toEqual([]);
    // The program runs in the stack's resident language host, a child of the server: its own
    // environment is the first one read.
    expect(outputs.ancestors[0]).toMatch(/resident-language-host\.cjs/);
    expect(outputs.ancestors[1]).toMatch(/server\.ts/);
    expect(outputs.ancestors.join('\n')).toMatch(/server\.ts/);
  });

  it('finds none in npm start given its secrets as files, nor in anything under it', async () => {
    const { program, secrets } = await setting();
    const files: Record<string, string> = {};
    for (const [name, value] of Object.entries(secrets)) {
      const file = join(program.dir, '..', name.toLowerCase());
      writeFileSync(file, value, { mode: 0o600 });
      files[`${name}_FILE`] = file;
    }
    const child = spawn('npm', ['start'], {
      cwd: repoDir, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH, HOME: process.env.HOME, STACKPILOT_PORT: '0', STACKPILOT_KUBECONFIG: join(program.dir, 'no-cluster'),
        STACKPILOT_PROJECT_DIR: program.dir, STACKPILOT_DATA_DIR: join(program.dir, '..', 'data'), ...files,
      },
    });
    cleanup.push(() => { for (const pid of processGroup(child.pid!)) process.kill(pid, 'SIGKILL'); });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = await waitFor('npm start to listen', () => /"address":"([^"]+)","msg":"listening"/.exec(output)?.[1], 120)
      .catch((error: Error) => { throw new Error(`${error.message}:\n${output}`); });
    const outputs = await probe({ url, key: secrets.STACKPILOT_BOOTSTRAP_ADMIN_KEY } as ServiceProcess);
    expect(outputs.environHits).toEqual([]);
    expect(outputs.ancestors.join('\n')).toMatch(/npm/);
  });
});
