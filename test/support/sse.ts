// Parses a text/event-stream body into its events.
export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

export function parseSse(body: string): SseEvent[] {
  return body.split(/\n\n/).map((block) => block.trim()).filter((block) => block && !block.startsWith(':')).map((block) => {
    const event: SseEvent = { data: '' };
    for (const line of block.split('\n')) {
      const [, field, value = ''] = /^([^:]+):? ?(.*)$/.exec(line) ?? [];
      if (field === 'id') event.id = value;
      else if (field === 'event') event.event = value;
      else if (field === 'data') event.data += value;
    }
    return event;
  });
}
