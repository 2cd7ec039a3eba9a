// Finished operations written straight into the store's table by one INSERT ... SELECT over a
// generated series (generate_series on PostgreSQL, a recursive CTE on SQLite): a million rows
// take seconds, where batches sent from here would take minutes. Row n is the same on both.
import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../src/store/migrations.js';
import type { Database } from '../src/store/schema.js';

/** `count` finished updates, spread round-robin over the four environments, oldest first. */
export async function seedOperations(db: Kysely<Database>, dialect: DialectName, count: number): Promise<void> {
  const columns = sql`(id, environment, type, scope, spec, message, status, requested_by, queued_at, started_at, finished_at, summary, outputs, resource_count, warnings, pulumi_version)`;
  const values = (n: ReturnType<typeof sql.raw>, padded: ReturnType<typeof sql.raw>, env: ReturnType<typeof sql.raw>) => sql`
    select '00000000-0000-4000-8000-' || ${padded}, ${env}, 'update', 'all', '{"scope":"all"}', 'seeded ' || ${n}, 'succeeded', 'bench',
      ${n}, ${n}, ${n} + 1, '{"same":5}', '{"greeting":"hello"}', 5, '[]', '3.274.1'`;
  if (dialect === 'postgres') {
    await sql`insert into operations ${columns} ${values(sql.raw('n'), sql.raw(`lpad(n::text, 12, '0')`),
      sql.raw(`(array['development','testing','staging','production'])[n % 4 + 1]`))} from generate_series(0, ${count - 1}::bigint) as n`.execute(db);
    // A table this size in service has long been vacuumed: its visibility map lets the page
    // query read the covering index alone. Right after a bulk insert it has none, and
    // autovacuum would start in the middle of the measurement.
    await sql`vacuum analyze operations`.execute(db);
  } else {
    await sql`with recursive series(n) as (select 0 union all select n + 1 from series where n < ${count - 1})
      insert into operations ${columns} ${values(sql.raw('n'), sql.raw(`printf('%012d', n)`),
      sql.raw(`case n % 4 when 0 then 'development' when 1 then 'testing' when 2 then 'staging' else 'production' end`))} from series`.execute(db);
    await sql`analyze`.execute(db);
  }
}
