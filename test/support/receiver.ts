// A real HTTP server standing in for a webhook receiver, Slack's response_url or its Web API:
// it records every request (headers and raw body), and answers as the test scripts it.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** How to answer a request: a status with headers, or 'hang' (never answer). */
export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** Decides each answer; the default is 200. */
  answer: (request: ReceivedRequest, index: number) => Answer;
  close(): Promise<void>;
}

export async function startReceiver(answer: Receiver['answer'] = () => ({ status: 200 })): Promise<Receiver> {
  const hanging = new Set<ServerResponse>();
  const receiver: Receiver = { url: '', requests: [], answer, close: async () => undefined };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const received = { path: request.url ?? '/', headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      receiver.requests.push(received);
      const decided = receiver.answer(received, receiver.requests.length - 1);
      if (decided === 'hang') {
        hanging.add(response);
        return;
      }
      response.writeHead(decided.status, { 'content-type': 'application/json', ...decided.headers }).end(decided.body ?? '{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () => new Promise((resolve) => {
    for (const response of hanging) response.destroy();
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return receiver;
}
