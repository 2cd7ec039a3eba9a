// Opens SQLite (embedded default) or PostgreSQL (DATABASE_URL) behind one Kysely instance and
// brings its schema up to date.
import Sqlite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type MigrationProvider } from 'kysely';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { migrations, type DialectName } from './migrations.js';
import type { Database } from './schema.js';

// Times are stored as bigint in PostgreSQL; they fit a JS number for the next 285,000 years.
pg.types.setTypeParser(pg.types.builtins.INT8, Number);

export interface OpenDatabase {
  db: Kysely<Database>;
  dialect: DialectName;
  /** PostgreSQL's pool (for NOTIFY), when that is the database. */
  pool?: pg.Pool;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string;
  dataDir: string;
  /**
   * PostgreSQL ends a session that stays this long inside a transaction without a statement,
   * so its locks go with it (the service passes its lease period). A replica frozen between two
   * statements (SIGSTOP, a paused VM, a long stall) otherwise holds its row and advisory locks
   * for as long as it is frozen, and the replica recovering its operation after one lease
   * would wait on them with no end. No transaction of the service waits on anything but the
   * database, so a live one never comes near a lease.
   */
  idleTransactionTimeoutMs?: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<OpenDatabase> {
  const dialect: DialectName = options.databaseUrl ? 'postgres' : 'sqlite';
  const pool = options.databaseUrl ? postgresPool(options.databaseUrl, options.idleTransactionTimeoutMs) : undefined;
  const db = new Kysely<Database>({
    dialect: pool ? new PostgresDialect({ pool }) : new SqliteDialect({ database: withStatementCache(openSqlite(options.dataDir)) }),
  });
  await migrate(db, dialect);
  return { db, dialect, pool, close: () => db.destroy() };
}

function postgresPool(connectionString: string, idleTransactionTimeoutMs: number | undefined): pg.Pool {
  const pool = new pg.Pool({
    connectionString: withLibpqSslModes(connectionString), max: 10,
    ...(idleTransactionTimeoutMs ? { idle_in_transaction_session_timeout: idleTransactionTimeoutMs } : {}),
  });
  // A connection the server closes (restart, failover, an admin's terminate) must not crash the
  // process, idle in the pool or checked out between two queries of a transaction: the query
  // in flight fails, and the pool opens another connection for the next one.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * A URL's sslmode means what it means to libpq (and to every other PostgreSQL client):
 * `require` encrypts without verifying the certificate, `verify-full` verifies it. node-postgres
 * reads `require` as `verify-full` unless asked for libpq's meaning.
 */
export function withLibpqSslModes(connectionString: string): string {
  const url = new URL(connectionString);
  if (url.searchParams.has('sslmode') && !url.searchParams.has('uselibpqcompat')) url.searchParams.set('uselibpqcompat', 'true');
  return url.toString();
}

function openSqlite(dataDir: string): Sqlite.Database {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const sqlite = new Sqlite(join(dataDir, 'stackpilot.sqlite'));
  // WAL lets readers (SSE streams, list requests) proceed while the runner writes events;
  // busy_timeout makes concurrent writers from other processes wait instead of failing.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  return sqlite;
}

const STATEMENT_CACHE_SIZE = 200;

/**
 * Kysely prepares every query anew; with better-sqlite3 that compile is a large part of a
 * simple query's cost. The service runs a small, fixed set of query shapes, so prepared
 * statements are kept by their SQL text (Kysely only calls all() and run() on them).
 */
function withStatementCache(sqlite: Sqlite.Database): Sqlite.Database {
  const cache = new Map<string, Sqlite.Statement>();
  return new Proxy(sqlite, {
    get(target, property) {
      if (property !== 'prepare') {
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (sql: string) => {
        let statement = cache.get(sql);
        if (!statement) {
          statement = target.prepare(sql);
          cache.set(sql, statement);
          if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        }
        return statement;
      };
    },
  });
}

async function migrate(db: Kysely<Database>, dialect: DialectName): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const { error } = await new Migrator({ db, provider, migrationTableName: 'stackpilot_migrations', migrationLockTableName: 'stackpilot_migrations_lock' }).migrateToLatest();
  if (error) throw error;
}
