// A replica frozen between two statements of a transaction (SIGSTOP, a paused VM) holds that
// transaction's locks on PostgreSQL for as long as it is frozen. The replica that recovers its
// operation after a lease writes the operation's result event, the very row the frozen
// transaction was inserting, and waited on it with no end. PostgreSQL now ends such a session
// after a lease: the recovery goes on, the frozen write is rolled back, and the frozen replica,
// back, finds its transaction failed and its pool working.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type OpenDatabase } from '../../src/store/database.js';
import { EventLog } from '../../src/store/event-log.js';
import { LeaseRepository } from '../../src/store/lease-repository.js';
import { OperationRepository } from '../../src/store/operation-repository.js';
import { OutboxRepository } from '../../src/store/outbox-repository.js';
import { createPostgresDatabase, DATABASES, type TestDatabase } from '../support/databases.js';
import { waitFor } from '../support/wait.js';

const LEASE_MS = 1500;

describe.skipIf(!DATABASES.includes('postgres'))('a replica frozen inside a transaction on postgres', () => {
  let dir: string;
  let postgres: TestDatabase;
  let opened: OpenDatabase;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stackpilot-frozen-'));
    postgres = await createPostgresDatabase();
    opened = await openDatabase({ databaseUrl: postgres.url, dataDir: dir, idleTransactionTimeoutMs: LEASE_MS });
  });
  afterAll(async () => {
    await opened?.close();
    await postgres?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds the recovery of its operation up for no more than a lease, and loses only its unfinished write', async () => {
    const operations = new OperationRepository(opened.db, new OutboxRepository(opened.db, opened.dialect));
    const leases = new LeaseRepository(opened.db, opened.dialect, operations);
    const queued = await opened.db.transaction().execute((tx) => operations.insert(tx, {
      environment: 'development', type: 'update', spec: { scope: 'all' }, requestedBy: 'alice', configVersion: 1, programDigest: 'd',
    }, Date.now()));
    expect((await leases.claim('frozen-replica', LEASE_MS, ['development'], ['preview']))?.id).toBe(queued.id);

    const replica = spawn(process.execPath, ['--import', 'tsx', 'test/support/frozen-transaction.ts', postgres.url, dir, queued.id, String(LEASE_MS)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    createInterface({ input: replica.stdout! }).on('line', (line) => lines.push(line));
    try {
      await waitFor('the replica to be inside its transaction', () => lines.includes('inside'));
      replica.kill('SIGSTOP');

      // What recovery does once the lease is over: fence, then end the operation with its result event.
      const expired = await waitFor('the lease to expire', async () => (await leases.expired()).find((e) => e.id === queued.id));
      await leases.fence(expired, 'recoverer', LEASE_MS);
      const recovered = operations.transition(queued.id, { from: 'recovering', to: 'interrupted', owner: 'recoverer', set: { error: 'stopped', error_code: 'interrupted' } });
      const outcome = await Promise.race([recovered.then(() => 'recovered'), sleep(20 * LEASE_MS, 'still waiting on the frozen replica\'s locks')]);
      expect(outcome).toBe('recovered');
      const events = await new EventLog(opened.db).events(queued.id, 0);
      expect(events.map((e) => [e.sequence, e.type])).toEqual([[1, 'result']]);

      replica.kill('SIGCONT');
      replica.stdin!.write('go on\n');
      const [code] = await once(replica, 'exit');
      expect(lines.find((line) => line.startsWith('rolled back:') || line === 'committed')).toMatch(/^rolled back: /);
      expect(lines.at(-1)).toBe('answers again');
      expect(code, lines.join('\n')).toBe(0);
      expect(await new EventLog(opened.db).output(queued.id)).toBe('');
    } finally {
      replica.kill('SIGKILL');
    }
  });
});
