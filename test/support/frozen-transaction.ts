// A replica that stops between two statements of a transaction, as one frozen by SIGSTOP or a
// paused VM does: it opens the database as the service does, writes an engine event of the
// operation, prints `inside`, and sends its next statement only when a line arrives on stdin.
// It then prints what became of the transaction, and whether its pool still answers.
import { openDatabase } from '../../src/store/database.js';

const [databaseUrl, dataDir, operationId, idleTransactionTimeoutMs] = process.argv.slice(2) as [string, string, string, string];
const { db, close } = await openDatabase({ databaseUrl, dataDir, idleTransactionTimeoutMs: Number(idleTransactionTimeoutMs) });
try {
  await db.transaction().execute(async (tx) => {
    await tx.insertInto('operation_events').values({ operation_id: operationId, sequence: 1, event_type: 'diagnostic', payload: '{}' }).execute();
    console.log('inside');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.destroy(); // read once: it must not keep the process alive
    await tx.insertInto('operation_output').values({ operation_id: operationId, chunk: 1, text: 'written after the freeze' }).execute();
  });
  console.log('committed');
} catch (error) {
  console.log(`rolled back: ${(error as Error).message}`);
}
await db.selectFrom('operations').select('id').where('id', '=', operationId).execute();
console.log('answers again');
await close();
