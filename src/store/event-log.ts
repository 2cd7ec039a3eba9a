// Each operation's engine events (an append-only log ordered by sequence) and the CLI's text
// output (chunks in order). Any process can serve any operation's stream from here.
import type { Kysely } from 'kysely';
import { RESULT_EVENT, type ChangeSummary, type OperationEvent } from '../operations/operation.js';
import type { Database } from './schema.js';

export interface ResultPayload {
  status: string;
  summary: ChangeSummary | null;
  error: string | null;
  errorCode: string | null;
}

export class EventLog {
  constructor(private readonly db: Kysely<Database>) {}

  async appendEvents(id: string, events: readonly OperationEvent[]): Promise<void> {
    if (!events.length) return;
    await this.db.insertInto('operation_events').values(events.map((e) => ({
      operation_id: id, sequence: e.sequence, event_type: e.type, payload: JSON.stringify(e.payload),
    }))).execute();
  }

  async events(id: string, afterSequence: number, limit = 500): Promise<OperationEvent[]> {
    const rows = await this.db.selectFrom('operation_events').select(['sequence', 'event_type', 'payload'])
      .where('operation_id', '=', id).where('sequence', '>', afterSequence).orderBy('sequence').limit(limit).execute();
    return rows.map((r) => ({ sequence: r.sequence, type: r.event_type, payload: JSON.parse(r.payload) }));
  }

  async appendOutput(id: string, chunk: number, text: string): Promise<void> {
    await this.db.insertInto('operation_output').values({ operation_id: id, chunk, text }).execute();
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
