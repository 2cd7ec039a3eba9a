// The outbox: domain events written in the same transaction as the change they announce,
// read in order by every consumer. On PostgreSQL each append also NOTIFYs, at commit, so
// every replica hears of it at once rather than at its next poll.
import { sql, type Kysely } from 'kysely';
import { databaseNow, databaseNowPlus } from './clock.js';
import type { DialectName } from './migrations.js';
import type { Database } from './schema.js';

export interface OutboxEvent {
  kind: string;
  environment?: string | null;
  operationId?: string | null;
  payload?: Record<string, unknown>;
}

export interface StoredOutboxEvent extends Required<OutboxEvent> {
  seq: number;
  createdAt: string;
}

export const OUTBOX_CHANNEL = 'stackpilot_outbox';

export class OutboxRepository {
  constructor(private readonly db: Kysely<Database>, private readonly dialect: DialectName) {}

  /** Appends an event inside `tx`: it becomes visible, and is announced, when `tx` commits. */
  async append(tx: Kysely<Database>, event: OutboxEvent, now = Date.now()): Promise<void> {
    const row = await tx.insertInto('outbox').values({
      kind: event.kind, environment: event.environment ?? null, operation_id: event.operationId ?? null,
      payload: JSON.stringify(event.payload ?? {}), created_at: now,
    }).returning('seq').executeTakeFirstOrThrow();
    if (this.dialect === 'postgres') await sql`select pg_notify(${OUTBOX_CHANNEL}, ${String(row.seq)})`.execute(tx);
  }

  async after(seq: number, limit = 500): Promise<StoredOutboxEvent[]> {
    const rows = await this.db.selectFrom('outbox').selectAll().where('seq', '>', seq).orderBy('seq').limit(limit).execute();
    return rows.map((r) => ({
      seq: Number(r.seq), kind: r.kind, environment: r.environment, operationId: r.operation_id,
      payload: JSON.parse(r.payload) as Record<string, unknown>, createdAt: new Date(Number(r.created_at)).toISOString(),
    }));
  }

  async last(): Promise<number> {
    const row = await this.db.selectFrom('outbox').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
    return Number(row?.seq ?? 0);
  }

  /** Takes (or renews) a consumer's lease, on the database's clock; returns its position when this owner holds it. */
  async leaseConsumer(name: string, owner: string, leaseMs: number): Promise<number | undefined> {
    await this.db.insertInto('outbox_consumers').values({ name, lease_owner: null, lease_expires_at: null })
      .onConflict((oc) => oc.column('name').doNothing()).execute();
    const row = await this.db.updateTable('outbox_consumers').set({ lease_owner: owner, lease_expires_at: databaseNowPlus(this.dialect, leaseMs) })
      .where('name', '=', name)
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_expires_at', '<', databaseNow(this.dialect))]))
      .returning('position').executeTakeFirst();
    return row ? Number(row.position) : undefined;
  }

  /** Moves a consumer's position forward, only while `owner` holds its lease. */
  async advance(name: string, owner: string, position: number): Promise<boolean> {
    const result = await this.db.updateTable('outbox_consumers').set({ position })
      .where('name', '=', name).where('lease_owner', '=', owner).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async releaseConsumer(name: string, owner: string): Promise<void> {
    await this.db.updateTable('outbox_consumers').set({ lease_owner: null, lease_expires_at: null })
      .where('name', '=', name).where('lease_owner', '=', owner).execute();
  }
}
