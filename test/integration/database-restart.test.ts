// The database restarting in the middle of an operation loses nothing: the events and output
// recorded while it was away are kept and written when it is back, every sequence 1..N and
// every output chunk present, in order, exactly once, and the final status written after them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { startTestService, type TestService } from '../support/service.js';
import { setConfig } from '../support/stack-config.js';
import { waitFor } from '../support/wait.js';

describe.skipIf(!DATABASES.includes('postgres'))('a PostgreSQL restart during an update', () => {
  let postgres: PrivatePostgres;
  let service: TestService;
  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    service = await startTestService({
      database: 'sqlite', config: { databaseUrl: postgres.url },
      prepare: async (program) => {
        await setConfig(program, 'development', 'markers', '80');
        await setConfig(program, 'development', 'markerDelayMs', '100');
      },
    });
  });
  afterAll(async () => {
    await service?.close();
    postgres?.destroy();
  });

  it('keeps every event and output chunk, in order, exactly once', async () => {
    const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'update' } })).json();
    const stored = async () => Number((await service.database.pool!.query('select count(*) as n from operation_events where operation_id = $1', [id])).rows[0].n);
    await waitFor('the first events to be stored', async () => (await stored()) >= 30);
    // Down long enough for the recorder to meet it (its next batch fails), then back.
    postgres.stop();
    await waitFor('a batch of events to meet the stopped database', () => service.logs.some((line) => line.includes('could not record engine events yet')), 20, 20);
    postgres.start();

    const done = await waitFor('the operation to end', async () => {
      const response = await service.inject(`/v1/operations/${id}`).catch(() => undefined);
      const operation = response?.statusCode === 200 ? response.json() : undefined;
      return operation && ['succeeded', 'failed', 'cancelled'].includes(operation.status) && operation;
    }, 120, 500);
    expect(done.status, done.error).toBe('succeeded');
    expect(done.summary.create).toBeGreaterThanOrEqual(80);

    const { rows: events } = await service.database.pool!.query<{ sequence: number; event_type: string }>(
      'select sequence, event_type from operation_events where operation_id = $1 order by sequence', [id]);
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)!.event_type).toBe('result');
    expect(events.filter((e) => e.event_type === 'resOutputs').length).toBeGreaterThanOrEqual(80);
    const { rows: chunks } = await service.database.pool!.query<{ chunk: number }>('select chunk from operation_output where operation_id = $1 order by chunk', [id]);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.map((c) => c.chunk)).toEqual(chunks.map((_, i) => i + 1));
    expect(service.logs.join('\n')).toContain('recording engine events again');
  });
});
