// Each operation's engine events (an append-only log ordered by sequence) and the CLI's text
// output (chunks in order). Any process can serve any operation's stream from here.
import type { Kysely } from 'kysely';
import { RESULT_EVENT, type ChangeSummary, type OperationEvent } from '../operations/operation.js';
import type { Database } from './schema.js';

/** Events and output recorded together: stored together, or not at all. */
export interface EventBatch {
  events: OperationEvent[];
  output?: { chunk: number; text: string };
}

export interface ResultPayload {
  status: string;
  summary: ChangeSummary | null;
  error: string | null;
  errorCode: string | null;
}

export class EventLog {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Stores a batch in one transaction. Writing it again is harmless (a retry after a commit
   * whose answer was lost): rows already there are left as they are.
   */
  async appendBatch(id: string, batch: EventBatch): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      if (batch.events.length) {
        await tx.insertInto('operation_events').values(batch.events.map((e) => ({
          operation_id: id, sequence: e.sequence, event_type: e.type, payload: JSON.stringify(e.payload),
        }))).onConflict((oc) => oc.columns(['operation_id', 'sequence']).doNothing()).execute();
      }
      if (batch.output) {
        await tx.insertInto('operation_output').values({ operation_id: id, chunk: batch.output.chunk, text: batch.output.text })
          .onConflict((oc) => oc.columns(['operation_id', 'chunk']).doNothing()).execute();
      }
    });
  }

  async events(id: string, afterSequence: number, limit = 500): Promise<OperationEvent[]> {
    const rows = await this.db.selectFrom('operation_events').select(['sequence', 'event_type', 'payload'])
      .where('operation_id', '=', id).where('sequence', '>', afterSequence).orderBy('sequence').limit(limit).execute();
    return rows.map((r) => ({ sequence: r.sequence, type: r.event_type, payload: JSON.parse(r.payload) }));
  }

  /** The last event sequence and output chunk stored for an operation (0 when none). */
  async positions(id: string): Promise<{ sequence: number; chunk: number }> {
    const events = await this.db.selectFrom('operation_events').select((eb) => eb.fn.max('sequence').as('n')).where('operation_id', '=', id).executeTakeFirst();
    const output = await this.db.selectFrom('operation_output').select((eb) => eb.fn.max('chunk').as('n')).where('operation_id', '=', id).executeTakeFirst();
    return { sequence: Number(events?.n ?? 0), chunk: Number(output?.n ?? 0) };
  }

  async output(id: string): Promise<string> {
    const rows = await this.db.selectFrom('operation_output').select('text').where('operation_id', '=', id).orderBy('chunk').execute();
    return rows.map((r) => r.text).join('');
  }
}

/**
 * Every finished operation ends its event stream with one `result` event, written in the same
 * transaction as its final status, so a stream can always tell that nothing more will come.
 */
export async function appendResult(tx: Kysely<Database>, id: string, payload: ResultPayload): Promise<void> {
  const last = await tx.selectFrom('operation_events').select((eb) => eb.fn.max('sequence').as('last'))
    .where('operation_id', '=', id).executeTakeFirst();
  await tx.insertInto('operation_events').values({
    operation_id: id, sequence: Number(last?.last ?? 0) + 1, event_type: RESULT_EVENT, payload: JSON.stringify(payload),
  }).execute();
}
