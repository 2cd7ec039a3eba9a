// The service's own database, backed up and restored whole: SQLite through its online backup
// API (a consistent copy while the service runs), PostgreSQL with pg_dump and pg_restore. A
// restore goes only into an empty database: it never merges into, or overwrites, a live one.
// Credentials reach pg_dump and pg_restore in their environment (PG* variables), never on
// their command line, where any process list would show them.
import Sqlite from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { DialectName } from './migrations.js';

export interface DatabaseLocation {
  /** PostgreSQL; unset: SQLite in dataDir. */
  databaseUrl?: string;
  dataDir: string;
}

/** The restore was refused before anything was written. */
export class DatabaseRestoreRefused extends Error {}

const SQLITE_FILE = 'stackpilot.sqlite';
/** Every Stackpilot database has its migrations table: a file without one is not a backup of ours. */
const MIGRATIONS_TABLE = 'stackpilot_migrations';

export async function backupDatabase(location: DatabaseLocation, out: string): Promise<{ dialect: DialectName; bytes: number }> {
  // Written beside its final name and renamed: a backup cut short never passes for a whole one.
  const partial = `${out}.partial`;
  rmSync(partial, { force: true });
  try {
    if (location.databaseUrl) {
      await runPgTool('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', '--file', partial], location.databaseUrl);
    } else {
      const source = new Sqlite(join(location.dataDir, SQLITE_FILE), { readonly: true, fileMustExist: true });
      try {
        await source.backup(partial);
      } finally {
        source.close();
      }
    }
    renameSync(partial, out);
  } finally {
    rmSync(partial, { force: true });
  }
  return { dialect: location.databaseUrl ? 'postgres' : 'sqlite', bytes: statSync(out).size };
}

export async function restoreDatabase(location: DatabaseLocation, file: string): Promise<{ dialect: DialectName }> {
  if (!existsSync(file)) throw new DatabaseRestoreRefused(`no backup file ${file}`);
  if (location.databaseUrl) {
    const tables = await postgresTables(location.databaseUrl);
    if (tables.length) throw new DatabaseRestoreRefused(`the database is not empty (${tables.length} tables, ${tables.slice(0, 3).join(', ')}...): restore into an empty one`);
    await runPgTool('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', file], location.databaseUrl, true);
    return { dialect: 'postgres' };
  }
  mkdirSync(location.dataDir, { recursive: true, mode: 0o700 });
  const target = join(location.dataDir, SQLITE_FILE);
  if (existsSync(target) && sqliteTables(target).length) throw new DatabaseRestoreRefused(`${target} is not empty: restore into a data dir without a database`);
  let source: Sqlite.Database;
  try {
    source = new Sqlite(file, { readonly: true, fileMustExist: true });
    if (!sqliteTables(source).includes(MIGRATIONS_TABLE)) throw new Error('no migrations table');
  } catch {
    throw new DatabaseRestoreRefused(`${file} is not a backup of a Stackpilot SQLite database`);
  }
  try {
    await source.backup(target);
  } finally {
    source.close();
  }
  return { dialect: 'sqlite' };
}

function sqliteTables(database: string | Sqlite.Database): string[] {
  const db = typeof database === 'string' ? new Sqlite(database, { readonly: true }) : database;
  try {
    return (db.prepare("select name from sqlite_master where type = 'table'").all() as Array<{ name: string }>).map((r) => r.name);
  } finally {
    if (typeof database === 'string') db.close();
  }
}

async function postgresTables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ name: string }>(
      "select table_schema || '.' || table_name as name from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')",
    );
    return result.rows.map((r) => r.name);
  } finally {
    await client.end();
  }
}

/** libpq's variables for a postgres:// URL: pg_dump and pg_restore read them from their environment. */
function libpqEnvironment(url: string): Record<string, string> {
  const parsed = new URL(url);
  const env: Record<string, string> = {
    PGHOST: parsed.hostname, PGPORT: parsed.port || '5432', PGDATABASE: decodeURIComponent(parsed.pathname.slice(1)),
  };
  if (parsed.username) env.PGUSER = decodeURIComponent(parsed.username);
  if (parsed.password) env.PGPASSWORD = decodeURIComponent(parsed.password);
  const sslmode = parsed.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}

function runPgTool(tool: 'pg_dump' | 'pg_restore', args: string[], url: string, toDatabase = false): Promise<void> {
  const env = { ...process.env, ...libpqEnvironment(url) };
  const fullArgs = toDatabase ? ['--dbname', env.PGDATABASE!, ...args] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(tool, fullArgs, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT'
      ? new Error(`${tool} is not installed: npm run setup installs Debian's postgresql-client`) : error));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${tool} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`))));
  });
}
