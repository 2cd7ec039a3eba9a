// The database's clock, as epoch milliseconds in SQL. Leases and their expiry are compared
// on one clock, the database's, so replicas whose clocks drift apart never judge each
// other's leases by their own time.
import { sql, type RawBuilder } from 'kysely';
import type { DialectName } from './migrations.js';

export function databaseNow(dialect: DialectName): RawBuilder<number> {
  return dialect === 'postgres'
    ? sql<number>`(floor(extract(epoch from clock_timestamp()) * 1000))::bigint`
    : sql<number>`cast(round((julianday('now') - 2440587.5) * 86400000) as integer)`;
}

/** The database clock plus `ms`. */
export function databaseNowPlus(dialect: DialectName, ms: number): RawBuilder<number> {
  return sql<number>`(${databaseNow(dialect)} + ${Math.round(ms)})`;
}
