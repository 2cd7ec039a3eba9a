// What starting the service does to the project and how it fails: the committed stack files
// are read, never written (the secrets provider's salt lives in the database), and a start-up
// problem an operator can fix is one line saying what to do, not a stack trace.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyProgram, requireKubeconfig } from '../support/programs.js';
import { spawnService } from '../support/process.js';
import { TEST_PASSPHRASE, startTestService } from '../support/service.js';

describe('starting the service', () => {
  it('leaves the committed stack files as they were, through a start and an operation', async () => {
    let stackFiles: Record<string, string> = {};
    const service = await startTestService({
      fixture: 'project', database: 'sqlite', config: { kubeconfig: requireKubeconfig() },
      prepare: (program) => {
        stackFiles = Object.fromEntries(readdirSync(join(program.dir, 'stacks')).map((f) => [f, readFileSync(join(program.dir, 'stacks', f), 'utf8')]));
      },
    });
    try {
      const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'preview' } })).json();
      expect((await service.inject(`/v1/operations/${id}?wait=60`)).json().status).toBe('succeeded');
      const after = Object.fromEntries(readdirSync(join(service.program.dir, 'stacks')).map((f) => [f, readFileSync(join(service.program.dir, 'stacks', f), 'utf8')]));
      expect(after).toEqual(stackFiles);
      expect(Object.keys(after)).toHaveLength(4);
      for (const text of Object.values(after)) expect(text).not.toMatch(/encryptionsalt/);
    } finally {
      await service.close();
    }
  });

  it('refuses, in one line, a passphrase that does not open the state backend\'s stacks', async () => {
    const program = copyProgram('service-project');
    try {
      const first = await startTestService({ database: 'sqlite', config: { stateBackendUrl: program.backendUrl } });
      const { id } = (await first.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'update' } })).json();
      expect((await first.inject(`/v1/operations/${id}?wait=60`)).json().status).toBe('succeeded');
      await first.close();

      // Another installation (its own data dir) pointed at the same state with another passphrase.
      const failed = await spawnService({
        STACKPILOT_PROJECT_DIR: program.dir,
        STACKPILOT_DATA_DIR: join(program.dir, '..', 'other-data'),
        STACKPILOT_STATE_BACKEND: program.backendUrl,
        STACKPILOT_SECRETS_PASSPHRASE: `not-${TEST_PASSPHRASE}`,
      }).then(() => undefined, (error: Error) => error.message);
      const lines = failed!.split('\n').filter((line) => !line.startsWith('{'));
      expect(lines).toEqual([
        'service exited with 1:',
        expect.stringMatching(/^stackpilot: cannot start: cannot prepare the stacks: the secrets passphrase does not open stack \w+ in this state backend: use the passphrase it was created with, or another STACKPILOT_STATE_BACKEND$/),
      ]);
    } finally {
      program.remove();
    }
  });
});
