// A postgres:// state backend's password reaches the engine through a password file, never its
// environment, and never appears in what the service says: a wrong one fails start-up with a
// line that names the problem without it; the right one works.
import { describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { startPrivatePostgres } from '../support/private-postgres.js';
import { startTestService } from '../support/service.js';

describe.skipIf(!DATABASES.includes('postgres'))('a state backend on PostgreSQL with a password', () => {
  it('works with the right password and names a wrong one\'s failure without showing it', async () => {
    const postgres = await startPrivatePostgres({ password: 'right-horse-battery' });
    try {
      const good = await startTestService({ database: 'sqlite', config: { stateBackendUrl: `${postgres.url}?sslmode=disable` } });
      const { id } = (await good.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'update' } })).json();
      const done = (await good.inject(`/v1/operations/${id}?wait=60`)).json();
      expect(done.status, done.error).toBe('succeeded');
      await good.close();

      const wrongUrl = Object.assign(new URL(postgres.url), { password: 'WRONG-canary-4713' }).toString();
      const failure = await startTestService({ database: 'sqlite', config: { stateBackendUrl: `${wrongUrl}?sslmode=disable` } })
        .then(async (service) => { await service.close(); return ''; }, (error: Error) => error.message);
      expect(failure).toMatch(/^cannot prepare the stacks: .*password authentication failed/);
      expect(failure).not.toContain('WRONG-canary-4713');
      expect(failure).not.toContain('right-horse-battery');
    } finally {
      postgres.destroy();
    }
  });
});
