// The outbox: every state change writes its event in the same transaction, and the dispatcher
// hands events to a durable consumer in order, at least once: a consumer that fails sees the
// event again, never a later one first, and its position is kept in the database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredOutboxEvent } from '../../src/store/outbox-repository.js';
import { DATABASES } from '../support/databases.js';
import { startTestService, type TestService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

describe.each(DATABASES)('the outbox on %s', (database) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ database });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('hands a durable consumer queued, started and finished, in order, again after a failure, and keeps its position', async () => {
    const seen: StoredOutboxEvent[] = [];
    let startedAttempts = 0;
    service.dispatcher.register({
      name: 'test-consumer',
      async handle(event) {
        // The first two deliveries of the start fail, as a receiver that is down would.
        if (event.kind === 'operation.started' && ++startedAttempts <= 2) throw new Error('the receiver is down');
        seen.push(event);
      },
    });
    const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'preview' } })).json();
    await waitFor('the consumer to see the operation finish', () => seen.some((e) => e.operationId === id && e.kind === 'operation.finished'), 60);
    const mine = seen.filter((e) => e.operationId === id);
    expect(mine.map((e) => e.kind)).toEqual(['operation.queued', 'operation.started', 'operation.finished']);
    expect(startedAttempts).toBe(3);
    expect(mine[2]!.payload).toMatchObject({ type: 'preview', status: 'succeeded', errorCode: null });
    expect(mine[0]!.seq).toBeLessThan(mine[1]!.seq);

    const position = await service.database.db.selectFrom('outbox_consumers').select('position').where('name', '=', 'test-consumer').executeTakeFirstOrThrow();
    expect(Number(position.position)).toBe(Math.max(...seen.map((e) => e.seq)));
  });
});
