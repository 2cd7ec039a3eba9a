// The claim is what keeps changes inside their windows, on each real database: in a shut
// environment it takes nothing the windows hold (a preview still goes), and once the window
// opens it takes the stack's oldest change whether it is still `scheduled` (the sweep that
// re-queues it has not run yet) or `queued`: a change accepted as the window opened never
// overtakes one scheduled before it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type OpenDatabase } from '../../src/store/database.js';
import { LeaseRepository } from '../../src/store/lease-repository.js';
import { OperationRepository, type NewOperation } from '../../src/store/operation-repository.js';
import { OutboxRepository } from '../../src/store/outbox-repository.js';
import { createPostgresDatabase, DATABASES, type TestDatabase } from '../support/databases.js';

describe.each(DATABASES)('claims under maintenance windows on %s', (database) => {
  let dir: string;
  let postgres: TestDatabase | undefined;
  let opened: OpenDatabase;
  let operations: OperationRepository;
  let leases: LeaseRepository;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stackpilot-claims-'));
    if (database === 'postgres') postgres = await createPostgresDatabase();
    opened = await openDatabase({ databaseUrl: postgres?.url, dataDir: dir });
    operations = new OperationRepository(opened.db, new OutboxRepository(opened.db, opened.dialect));
    leases = new LeaseRepository(opened.db, opened.dialect, operations);
  });
  afterAll(async () => {
    await opened?.close();
    await postgres?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const insert = (input: Partial<NewOperation>) => opened.db.transaction().execute((tx) => operations.insert(tx, {
    environment: 'production', type: 'update', spec: { scope: 'all' }, requestedBy: 'alice', configVersion: 1, programDigest: 'd', ...input,
  }, Date.now()));
  const claim = (shut: string[]) => leases.claim('owner-1', 60_000, ['production'], ['preview', 'drift_check'], shut);

  it('takes no held change while the window is shut, lets a preview by, then keeps the order once it opens', async () => {
    const scheduled = await insert({ held: true, schedule: { notBefore: Date.now() + 3600_000, upcomingNoticeAt: null }, message: 'scheduled first' });
    const queued = await insert({ held: true, message: 'queued as the window opened' });
    expect([scheduled.status, queued.status]).toEqual(['scheduled', 'queued']);

    const preview = await insert({ type: 'preview' });
    expect((await claim(['production']))?.id).toBe(preview.id);
    await operations.transition(preview.id, { from: 'running', to: 'succeeded' });
    expect(await claim(['production'])).toBeUndefined();

    const first = await claim([]);
    expect(first).toMatchObject({ id: scheduled.id, status: 'running', notBefore: null });
    // One operation holds the stack at a time: the next change waits for the first to end.
    expect(await claim([])).toBeUndefined();
    await operations.transition(scheduled.id, { from: 'running', to: 'succeeded' });
    expect((await claim([]))?.id).toBe(queued.id);
  });
});
