// Follows an operation's engine events (Server-Sent Events) through the generated client. When
// the connection drops it reconnects with Last-Event-ID set to the last sequence received, so
// the service sends the rest: no event lost, none twice. It ends at the `result` event.
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { api, ApiError, describeFailure } from './api.js';
import type { StreamedEvent } from './resource-progress.js';

export type { StreamedEvent };

export interface StreamHandlers {
  onEvent(event: StreamedEvent): void;
  onState(state: 'live' | 'reconnecting' | 'ended', problem?: string): void;
}

const RECONNECT_MS = 1000;

export async function followEvents(id: string, handlers: StreamHandlers, signal: AbortSignal): Promise<void> {
  let last = 0;
  while (!signal.aborted) {
    try {
      const { response } = await api.GET('/v1/operations/{id}/events', {
        params: { path: { id }, header: { 'last-event-id': String(last) } },
        headers: { accept: 'text/event-stream' },
        parseAs: 'stream',
        signal,
      });
      if (!response.ok) {
        const problem = await response.json().catch(() => undefined);
        const failure = describeFailure(response.status, problem);
        // A refusal will not change by retrying; too many streams or a failure might.
        if (response.status < 500 && response.status !== 429) return handlers.onState('ended', failure.message);
        throw failure;
      }
      handlers.onState('live');
      const reader = response.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const sequence = Number(value.id);
        if (!(sequence > last)) continue;
        last = sequence;
        handlers.onEvent({ sequence, type: value.event ?? 'message', payload: parse(value.data), receivedAt: Date.now() });
        if (value.event === 'result') return handlers.onState('ended');
      }
    } catch (error) {
      if (signal.aborted) return;
      handlers.onState('reconnecting', error instanceof ApiError ? error.message : undefined);
    }
    if (signal.aborted) return;
    handlers.onState('reconnecting');
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}

function parse(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
