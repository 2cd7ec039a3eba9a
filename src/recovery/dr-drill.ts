// The disaster-recovery drill: from the newest backups (the service's database, taken now, and
// each stack's newest state backup) it rebuilds the service in a fresh data dir with an empty
// state backend, starts it there, and runs a drift check (a refresh preview) of each
// environment that has state against what really runs. Per environment it measures the RPO
// (how much older the newest backup is than the environment's last change, against the
// configuration's `database.rpoHours`) and the RTO (seconds from the drill's start until that
// environment's check came back clean, against the target), and says pass or fail.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { systemActor } from '../auth/actor.js';
import type { Config } from '../config.js';
import { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { kindOf } from '../operations/operation-kinds.js';
import { OPERATION_TYPES, isFinished } from '../operations/operation.js';
import { flatten } from '../releases/config-path.js';
import { startService } from '../service.js';
import { BackupRepository, type StateBackup } from '../store/backup-repository.js';
import { ConfigVersionRepository } from '../store/config-version-repository.js';
import { backupDatabase, restoreDatabase } from '../store/database-backup.js';
import { openDatabase } from '../store/database.js';

export interface DrillOptions {
  /** The live service's settings: where its database, backups and project are. */
  config: Config;
  /** An empty folder: the drill's data dir, state backend and database backup go here. */
  workDir: string;
  /** With PostgreSQL, an empty database the drill restores into (SQLite: a file in workDir). */
  scratchDatabaseUrl?: string;
  rtoTargetSeconds: number;
  logger: Logger;
}

export interface DrillRow {
  environment: string;
  backupId: string | null;
  backupAt: string | null;
  lastChangeAt: string | null;
  rpoSeconds: number | null;
  rpoTargetSeconds: number | null;
  rtoSeconds: number | null;
  rtoTargetSeconds: number;
  drift: string;
  pass: boolean;
  note?: string;
}

export interface DrillReport {
  startedAt: string;
  finishedAt: string;
  databaseBackup: { dialect: string; bytes: number };
  environments: DrillRow[];
  pass: boolean;
}

const MUTATING = OPERATION_TYPES.filter((type) => kindOf(type).mutates);
const DRILL = systemActor('dr-drill');

export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const { config, workDir, logger } = options;
  const started = Date.now();
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const catalog = EnvironmentCatalog.load(config.projectDir);

  // 1. The newest backups, and what the live database says about each environment.
  const source = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const plans: Array<{ environment: string; backup: StateBackup | undefined; lastChange: { id: string; at: number } | undefined; rpoHours: number | undefined }> = [];
  try {
    const backups = new BackupRepository(source.db);
    const versions = new ConfigVersionRepository(source.db);
    for (const environment of catalog.names) {
      const last = await source.db.selectFrom('operations').select(['id', 'finished_at']).where('environment', '=', environment)
        .where('type', 'in', MUTATING).where('finished_at', 'is not', null).orderBy('finished_at', 'desc').limit(1).executeTakeFirst();
      const latest = await versions.latest(environment);
      const rpo = latest ? flatten(latest.config, catalog.project)['database.rpoHours'] : undefined;
      plans.push({
        environment, backup: await backups.newest(environment), rpoHours: hours(rpo),
        lastChange: last ? { id: last.id, at: Number(last.finished_at) } : undefined,
      });
    }
  } finally {
    await source.close();
  }
  const dumpFile = join(workDir, 'database.backup');
  const databaseBackup = await backupDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }, dumpFile);

  // 2. Restored into a fresh data dir and an empty state backend.
  const dataDir = join(workDir, 'data');
  const stateDir = join(workDir, 'state');
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  await restoreDatabase({ databaseUrl: options.scratchDatabaseUrl, dataDir }, dumpFile);
  await isolate(options.scratchDatabaseUrl, dataDir);
  const drill = await startService({
    ...config, dataDir, databaseUrl: options.scratchDatabaseUrl, stateBackendUrl: `file://${stateDir}`, backupDir: join(workDir, 'backups'),
    port: 0, bootstrapAdminKey: undefined,
  }, logger);
  const rows: DrillRow[] = [];
  try {
    // 3. Each environment's state imported, then checked against what really runs.
    const checks = new Map<string, string>();
    for (const plan of plans) {
      if (!plan.backup) continue;
      const content = readFileSync(join(config.backupDir!, 'sha256', plan.backup.sha256.slice(0, 2), `${plan.backup.sha256}.json`), 'utf8');
      if (createHash('sha256').update(content).digest('hex') !== plan.backup.sha256) throw new Error(`backup ${plan.backup.id} fails its checksum`);
      await drill.engine.importState(plan.environment, content);
      checks.set(plan.environment, (await drill.recovery.drift.request(DRILL, plan.environment)).id);
    }
    for (const plan of plans) {
      const rpoSeconds = !plan.backup ? null : !plan.lastChange || plan.backup.operationId === plan.lastChange.id ? 0
        : Math.max(0, Math.round((plan.lastChange.at - Date.parse(plan.backup.createdAt)) / 1000));
      const rpoTargetSeconds = plan.rpoHours === undefined ? null : plan.rpoHours * 3600;
      const row: DrillRow = {
        environment: plan.environment, backupId: plan.backup?.id ?? null, backupAt: plan.backup?.createdAt ?? null,
        lastChangeAt: plan.lastChange ? new Date(plan.lastChange.at).toISOString() : null, rpoSeconds, rpoTargetSeconds,
        rtoSeconds: null, rtoTargetSeconds: options.rtoTargetSeconds, drift: 'not checked', pass: true,
      };
      const check = checks.get(plan.environment);
      if (!check) {
        row.note = plan.lastChange ? 'changed, but no state backup to restore' : 'never deployed: nothing to restore';
        row.pass = !plan.lastChange;
        rows.push(row);
        continue;
      }
      const ended = await until(async () => {
        const operation = await drill.repositories.operations.get(check);
        return operation && isFinished(operation.status) ? operation : undefined;
      }, started + options.rtoTargetSeconds * 1000);
      const drift = ended && (await drill.recovery.drift.state(plan.environment));
      row.drift = drift?.status ?? 'timed out';
      row.rtoSeconds = drift?.status === 'in_sync' ? Math.round((Date.parse(ended!.finishedAt!) - started) / 100) / 10 : null;
      row.pass = row.rtoSeconds !== null && row.rtoSeconds <= options.rtoTargetSeconds
        && (rpoTargetSeconds === null || (rpoSeconds ?? Infinity) <= rpoTargetSeconds);
      rows.push(row);
    }
  } finally {
    await drill.stop(5000);
  }
  return { startedAt: new Date(started).toISOString(), finishedAt: new Date().toISOString(), databaseBackup, environments: rows, pass: rows.every((r) => r.pass) };
}

/**
 * The restored copy's unfinished operations are ended before its service starts: the drill
 * must never run a queued change, nor fence an operation whose engine belongs to the live service.
 */
async function isolate(databaseUrl: string | undefined, dataDir: string): Promise<void> {
  const copy = await openDatabase({ databaseUrl, dataDir });
  try {
    const now = Date.now();
    const ended = { finished_at: now, lease_owner: null, lease_expires_at: null, error: 'ended by the disaster-recovery drill in its copy of the database' };
    await copy.db.updateTable('operations').set({ ...ended, status: 'cancelled', error_code: 'cancelled' }).where('status', 'in', ['queued', 'scheduled', 'awaiting_approval']).execute();
    await copy.db.updateTable('operations').set({ ...ended, status: 'interrupted', error_code: 'interrupted' }).where('status', 'in', ['running', 'recovering']).execute();
  } finally {
    await copy.close();
  }
}

/** A number of hours from configuration, where values may be numbers or their text. */
function hours(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : undefined;
  return n !== undefined && n > 0 ? n : undefined;
}

async function until<T>(probe: () => Promise<T | undefined>, deadline: number): Promise<T | undefined> {
  for (;;) {
    const value = await probe();
    if (value !== undefined || Date.now() > deadline) return value;
    await sleep(250);
  }
}

/** The report as a table, one environment a line. */
export function drillTable(report: DrillReport): string {
  const header = ['environment', 'RPO s', 'RPO target s', 'RTO s', 'RTO target s', 'drift', 'result'];
  const lines = report.environments.map((r) => [r.environment, r.rpoSeconds ?? '-', r.rpoTargetSeconds ?? '-', r.rtoSeconds ?? '-', r.rtoTargetSeconds,
    r.drift, `${r.pass ? 'pass' : 'FAIL'}${r.note ? ` (${r.note})` : ''}`].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((l) => l.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')).join('\n');
}
