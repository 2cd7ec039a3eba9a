// The disaster-recovery drill, run as `npm run dr-drill` runs it (the script, as a process),
// next to a live service on each database, with the TORONTO AI TEAM AGENT's development and
// testing running on the local cluster's real node: the drill's refresh previews read the real
// Deployments, every target is met, and the service the drill rebuilt holds the same
// operations, releases, keys and audit chain, by ids and counts, with the chain still verifying.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditAnchors } from '../../src/auth/audit-anchors.js';
import { AuditTrail } from '../../src/auth/audit-trail.js';
import { AuditRepository } from '../../src/store/audit-repository.js';
import { openDatabase, type OpenDatabase } from '../../src/store/database.js';
import { createPostgresDatabase, DATABASES, type TestDatabase } from '../support/databases.js';
import { repoDir, requireKubeconfig } from '../support/programs.js';
import { settled } from '../support/releases.js';
import { startTestService, TEST_PASSPHRASE, type TestService } from '../support/service.js';
import { setConfig } from '../support/stack-config.js';

const kubeconfig = requireKubeconfig();
const LOCAL = ['development', 'testing'];

async function ids(database: OpenDatabase, table: string, column: string): Promise<string[]> {
  const rows = await sql<{ key: unknown }>`select ${sql.ref(column)} as key from ${sql.table(table)} order by 1`.execute(database.db);
  return rows.rows.map((r) => String(r.key));
}

describe.each(DATABASES)('disaster-recovery drill on %s', (database) => {
  let service: TestService;
  let work: string;
  let scratch: TestDatabase | undefined;

  beforeAll(async () => {
    const suffix = randomBytes(3).toString('hex');
    service = await startTestService({
      fixture: 'project', database, config: { kubeconfig },
      prepare: async (program) => {
        for (const env of LOCAL) await setConfig(program, env, 'namespace', `toronto-ai-drill-${env.slice(0, 4)}-${suffix}`);
      },
    });
    work = mkdtempSync(join(tmpdir(), 'stackpilot-dr-drill-test-'));
  }, 120_000);
  afterAll(async () => {
    for (const env of service ? LOCAL : []) {
      const { id } = (await service.inject({ method: 'POST', url: `/v1/environments/${env}/operations`, payload: { type: 'destroy' } })).json();
      await settled(service, id);
    }
    await service?.close();
    await scratch?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('meets its targets and rebuilds the same service', async () => {
    for (const env of LOCAL) {
      const response = await service.inject({ method: 'POST', url: `/v1/environments/${env}/operations`, payload: { type: 'update', message: 'before the drill' } });
      const done = await settled(service, response.json().id);
      expect(done.status, done.error).toBe('succeeded');
    }
    scratch = database === 'postgres' ? await createPostgresDatabase() : undefined;
    const drillDir = join(work, 'drill');
    const run = spawnSync(process.execPath, ['--import', 'tsx', join('scripts', 'dr-drill.ts'), '--work-dir', drillDir, '--rto-target-seconds', '300',
      ...(scratch ? ['--scratch-database-url', scratch.url] : [])], {
      cwd: repoDir, encoding: 'utf8', timeout: 170_000,
      env: {
        PATH: process.env.PATH, HOME: process.env.HOME, STACKPILOT_KUBECONFIG: kubeconfig, STACKPILOT_DATA_DIR: service.config.dataDir, STACKPILOT_PROJECT_DIR: service.program.dir,
        STACKPILOT_SECRETS_PASSPHRASE: TEST_PASSPHRASE, STACKPILOT_STATE_BACKEND: service.program.backendUrl,
        ...(service.config.databaseUrl ? { DATABASE_URL: service.config.databaseUrl } : {}),
      },
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/^environment\s+RPO s/m);
    const report = JSON.parse(readFileSync(join(drillDir, 'dr-drill-report.json'), 'utf8'));
    expect(report.pass).toBe(true);
    const byName = Object.fromEntries(report.environments.map((r: { environment: string }) => [r.environment, r]));
    // The RPO targets are the stacks' own `database.rpoHours` (24).
    for (const env of LOCAL) {
      expect(byName[env]).toMatchObject({ rpoSeconds: 0, rpoTargetSeconds: 86_400, rtoTargetSeconds: 300, drift: 'in_sync', pass: true });
      expect(byName[env].rtoSeconds).toBeGreaterThan(0);
      expect(byName[env].rtoSeconds).toBeLessThan(300);
    }
    expect(byName.production).toMatchObject({ pass: true, rtoSeconds: null, note: 'never deployed: nothing to restore' });

    // The rebuilt service: everything the live one had, by ids and counts, and its own drift checks.
    const rebuilt = await openDatabase({ databaseUrl: scratch?.url, dataDir: join(drillDir, 'data') });
    try {
      const live = service.database;
      for (const [table, column] of [['releases', 'id'], ['api_keys', 'id'], ['config_versions', 'version'], ['state_backups', 'id']] as const) {
        expect(await ids(rebuilt, table, column), table).toEqual(await ids(live, table, column));
      }
      const liveOperations = await ids(live, 'operations', 'id');
      const rebuiltOperations = await rebuilt.db.selectFrom('operations').select(['id', 'type', 'requested_by']).execute();
      expect(rebuiltOperations.map((o) => o.id)).toEqual(expect.arrayContaining(liveOperations));
      expect(rebuiltOperations.filter((o) => !liveOperations.includes(o.id)).map((o) => [o.type, o.requested_by]))
        .toEqual([['drift_check', 'system:dr-drill'], ['drift_check', 'system:dr-drill']]);
      const liveChain = await ids(live, 'audit_log', 'seq');
      const rebuiltHashes = (await rebuilt.db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq').execute());
      const liveHashes = await live.db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq').execute();
      expect(rebuiltHashes.slice(0, liveChain.length)).toEqual(liveHashes.slice(0, liveChain.length));
      const verification = await new AuditTrail(new AuditRepository(rebuilt.db, rebuilt.dialect), TEST_PASSPHRASE, new AuditAnchors(join(drillDir, 'data', 'audit-anchors.jsonl'))).verify();
      expect(verification.valid).toBe(true);
      expect(verification.records).toBe(rebuiltHashes.length);
    } finally {
      await rebuilt.close();
    }
  }, 600_000);
});
