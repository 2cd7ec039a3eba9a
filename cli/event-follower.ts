// Follows an operation's event stream to its `result` event. A dropped connection is resumed
// with Last-Event-ID, the last id seen, so the server sends exactly the rest: no event is
// lost or printed twice, whatever cut the connection.
import { setTimeout as sleep } from 'node:timers/promises';
import { createParser } from 'eventsource-parser';
import type { ApiClient } from './client.js';
import { CliError, EXIT } from './exit-codes.js';
import type { StreamEvent } from './progress.js';

const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000, 8000];

export interface FollowOptions {
  afterId?: string;
  onEvent(event: StreamEvent): void;
  /** Told each time the stream is resumed after a drop. */
  onReconnect?(lastId: string | undefined, attempt: number): void;
  /** Stops following (the connection is closed). */
  signal?: AbortSignal;
}

export async function followEvents(client: ApiClient, operationId: string, options: FollowOptions): Promise<void> {
  let lastId = options.afterId;
  let failures = 0;
  for (;;) {
    if (options.signal?.aborted) return;
    const ended = await readOnce(client, operationId, lastId, options.signal, (event) => {
      lastId = event.id;
      failures = 0;
      options.onEvent(event);
    }).catch((error: unknown) => {
      if (error instanceof CliError) throw error;
      return false; // a dropped connection: resume below
    });
    if (ended || options.signal?.aborted) return;
    if (failures >= RETRY_DELAYS_MS.length) throw new CliError(EXIT.failed, `lost the event stream of ${operationId} and could not resume it`);
    options.onReconnect?.(lastId, failures + 1);
    await sleep(RETRY_DELAYS_MS[failures++]!);
  }
}

/** One connection: true when it delivered the `result` event (or the stream had nothing more). */
async function readOnce(client: ApiClient, operationId: string, lastId: string | undefined, signal: AbortSignal | undefined, onEvent: (event: StreamEvent) => void): Promise<boolean> {
  const answer = await client.GET('/v1/operations/{id}/events', {
    params: { path: { id: operationId }, header: lastId ? { 'last-event-id': lastId } : {} },
    headers: { accept: 'text/event-stream' },
    parseAs: 'stream',
    signal,
  });
  if (!answer.response.ok || !answer.data) {
    const problem = (answer.error ?? {}) as { code?: string; detail?: string };
    const usage = [400, 401, 403, 404].includes(answer.response.status);
    if (!usage && answer.response.status >= 500) return false;
    throw new CliError(usage ? EXIT.usage : EXIT.failed, `${answer.response.status} ${problem.code ?? 'error'}: ${problem.detail ?? ''}`);
  }
  let sawResult = false;
  const parser = createParser({
    onEvent(message) {
      if (message.id === undefined) return;
      let payload: unknown = message.data;
      try {
        payload = JSON.parse(message.data);
      } catch {
        // kept as text
      }
      const event = { id: message.id, type: message.event ?? 'message', payload };
      onEvent(event);
      if (event.type === 'result') sawResult = true;
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of answer.data as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
  // A stream that ends cleanly without a result: a finished operation resumed past its end
  // (done), or the server closed it early (resume).
  return sawResult || (await endedCleanly(client, operationId));
}

async function endedCleanly(client: ApiClient, operationId: string): Promise<boolean> {
  const { data } = await client.GET('/v1/operations/{id}', { params: { path: { id: operationId } } });
  return data !== undefined && !['queued', 'running', 'recovering'].includes(data.status);
}
