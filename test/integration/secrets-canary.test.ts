// A canary secret in a stack's config must never appear in clear text in any sink: API
// responses, event streams, logs, plain-text output, error messages or database rows.
import type { InjectOptions } from 'fastify';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { startTestService, type TestService } from '../support/service.js';
import { setSecretConfig } from '../support/stack-config.js';

const CANARY = `canary-${randomBytes(12).toString('hex')}`;

describe.each(DATABASES)('secrets canary on %s', (database) => {
  let service: TestService;
  const seen: string[] = [];

  beforeAll(async () => {
    service = await startTestService({ database, prepare: (program) => setSecretConfig(program, 'development', 'canary', CANARY) });
  });
  afterAll(async () => {
    await service?.close();
  });

  async function call(request: InjectOptions) {
    const response = await service.inject(request);
    seen.push(response.body, JSON.stringify(response.headers));
    return response;
  }

  it('runs every operation type with the canary in the stack config', async () => {
    for (const type of ['preview', 'update', 'refresh', 'destroy']) {
      const { id } = (await call({ method: 'POST', url: '/v1/environments/development/operations', payload: { type } })).json();
      const done = (await call({ url: `/v1/operations/${id}?wait=60` })).json();
      expect(done.status, `${type}: ${done.error}`).toBe('succeeded');
      await call({ url: `/v1/operations/${id}/events` });
      await call({ url: `/v1/operations/${id}/log` });
      await call({ url: `/v1/environments/development/operations` });
      if (type === 'update') {
        // The secret really was in play: the stack output exists, redacted.
        expect(done.outputs.canary).toBe('[secret]');
        expect((await call({ url: '/v1/environments/development' })).json().outputs.canary).toBe('[secret]');
      }
    }
    await call({ url: '/v1/environments' });
  });

  it('finds the canary in no response, event, log line or database row', async () => {
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.filter((text) => text.includes(CANARY))).toEqual([]);
    expect(service.logs.length).toBeGreaterThan(0);
    expect(service.logs.filter((line) => line.includes(CANARY))).toEqual([]);
    for (const table of ['operations', 'operation_events', 'operation_output']) {
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(service.database.db);
      expect(rows.rows.length, table).toBeGreaterThan(0);
      expect(rows.rows.filter((row) => JSON.stringify(row).includes(CANARY)), table).toEqual([]);
    }
  });
});
