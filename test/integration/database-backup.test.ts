// The service's own database: `npm run backup` and `npm run restore` (their scripts, run as
// processes with the service's settings), on each database. The restore goes into an empty
// database only, and holds the same operations, releases, configuration versions, keys and
// audit trail, whose chain still verifies; a database that is not empty is refused untouched.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditAnchors } from '../../src/auth/audit-anchors.js';
import { AuditTrail } from '../../src/auth/audit-trail.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { openDatabase, type OpenDatabase } from '../../src/store/database.js';
import { createPostgresDatabase, DATABASES, type TestDatabase } from '../support/databases.js';
import { repoDir } from '../support/programs.js';
import { settled } from '../support/releases.js';
import { startTestService, TEST_PASSPHRASE, type TestService } from '../support/service.js';

/** The tables a restore must bring back whole, with the column that identifies a row. */
const COMPARED: Record<string, string> = {
  operations: 'id', operation_events: 'operation_id', releases: 'id', config_versions: 'version', api_keys: 'id',
  totp_enrolments: 'principal', audit_log: 'hash', outbox: 'seq', state_backups: 'id', stacks: 'environment',
};

function script(name: string, args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', join('scripts', name), ...args], {
    cwd: repoDir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
}

async function snapshot(database: OpenDatabase): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {};
  for (const [table, column] of Object.entries(COMPARED)) {
    const rows = await sql<{ key: unknown }>`select ${sql.ref(column)} as key from ${sql.table(table)}`.execute(database.db);
    result[table] = rows.rows.map((r) => String(r.key)).sort();
  }
  return result;
}

describe.each(DATABASES)('service database backup and restore on %s', (database) => {
  let service: TestService;
  let work: string;
  let restoredDatabase: TestDatabase | undefined;
  const settings = (dataDir: string, url?: string): Record<string, string> => ({
    STACKPILOT_DATA_DIR: dataDir, STACKPILOT_PROJECT_DIR: service.program.dir, STACKPILOT_SECRETS_PASSPHRASE: TEST_PASSPHRASE,
    ...(url ? { DATABASE_URL: url } : {}),
  });

  beforeAll(async () => {
    service = await startTestService({ database });
    work = mkdtempSync(join(tmpdir(), 'stackpilot-db-backup-'));
  });
  afterAll(async () => {
    await service?.close();
    await restoredDatabase?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('backs up a running service and restores into an empty database only, with everything in it', async () => {
    const response = await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'update', config: { set: { infraGeneration: 'db1' } } } });
    expect((await settled(service, response.json().id)).status).toBe('succeeded');
    expect((await service.inject({ method: 'POST', url: '/v1/keys', payload: { name: 'ci', principal: 'ci', grants: [{ role: 'deployer', environments: ['development'] }], expiresInDays: 30 } })).statusCode).toBe(201);
    await service.audit.anchor();

    // Taken while the service runs.
    const file = join(work, 'stackpilot.backup');
    const backup = script('backup-database.ts', ['--out', file], settings(service.config.dataDir, service.config.databaseUrl));
    expect(backup.status, backup.stderr).toBe(0);
    expect(statSync(file).size).toBeGreaterThan(0);
    const original = await snapshot(service.database);
    expect(original.operations!.length).toBeGreaterThan(0);
    expect(original.releases!.length).toBe(1);
    expect(original.audit_log!.length).toBeGreaterThan(3);

    // A database that is not empty is refused, and left as it was.
    const refused = script('restore-database.ts', [file], settings(service.config.dataDir, service.config.databaseUrl));
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/not empty/);
    expect(await snapshot(service.database)).toEqual(original);

    const restoredDir = join(work, 'restored-data');
    restoredDatabase = database === 'postgres' ? await createPostgresDatabase() : undefined;
    const restore = script('restore-database.ts', [file], settings(restoredDir, restoredDatabase?.url));
    expect(restore.status, restore.stderr).toBe(0);
    expect(existsSync(join(restoredDir, 'stackpilot.sqlite'))).toBe(database === 'sqlite');

    const restored = await openDatabase({ databaseUrl: restoredDatabase?.url, dataDir: restoredDir });
    try {
      expect(await snapshot(restored)).toEqual(original);
      // The chain verifies in the restored database, against the anchors the service wrote.
      const trail = new AuditTrail(new AuditRepository(restored.db, restored.dialect), TEST_PASSPHRASE, new AuditAnchors(join(service.config.dataDir, 'audit-anchors.jsonl')));
      const verification = await trail.verify();
      expect(verification).toMatchObject({ valid: true, records: original.audit_log!.length });
    } finally {
      await restored.close();
    }
  });

  it('refuses a file that is not a backup, and a missing one', () => {
    const dir = join(work, 'other-data');
    const missing = script('restore-database.ts', [join(work, 'nothing-here')], settings(dir));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no backup file/);
    const noArgs = script('restore-database.ts', [], settings(dir));
    expect(noArgs.status).toBe(1);
    const noOut = script('backup-database.ts', [], settings(dir));
    expect(noOut.status).toBe(1);
    expect(noOut.stderr).toMatch(/--out/);
  });
});
