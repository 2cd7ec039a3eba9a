// What the metrics read from the database at each scrape: the same numbers on every replica,
// and they survive restarts (operations are rows, never lost from a counter held in memory).
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export class MetricsQueries {
  constructor(private readonly db: Kysely<Database>) {}

  /** Operations by environment, type and status. */
  async operationCounts(): Promise<Array<{ environment: string; type: string; status: string; count: number }>> {
    const rows = await this.db.selectFrom('operations').select(['environment', 'type', 'status', sql<number>`count(*)`.as('count')])
      .groupBy(['environment', 'type', 'status']).execute();
    return rows.map((r) => ({ ...r, count: Number(r.count) }));
  }

  /** Each environment's current release number. */
  async currentReleases(): Promise<Map<string, number>> {
    const rows = await this.db.selectFrom('releases').select(['environment', 'number']).where('status', '=', 'current').execute();
    return new Map(rows.map((r) => [r.environment, Number(r.number)]));
  }

  async operation(id: string): Promise<{ type: string; queuedAt: number; startedAt: number | null; finishedAt: number | null } | undefined> {
    const row = await this.db.selectFrom('operations').select(['type', 'queued_at', 'started_at', 'finished_at']).where('id', '=', id).executeTakeFirst();
    return row && { type: row.type, queuedAt: Number(row.queued_at), startedAt: row.started_at === null ? null : Number(row.started_at), finishedAt: row.finished_at === null ? null : Number(row.finished_at) };
  }
}
