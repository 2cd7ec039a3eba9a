// A TCP proxy in front of the service that cuts the first event stream after some bytes, as a
// load balancer or a flaky network would: the client must resume it.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface FlakyProxy {
  url: string;
  /** How many event streams were cut. */
  cuts: number;
  close(): Promise<void>;
}

export async function startFlakyProxy(target: URL, cutEventStreamAfterBytes: number): Promise<FlakyProxy> {
  const sockets = new Set<Socket>();
  const proxy: FlakyProxy = { url: '', cuts: 0, close: async () => undefined };
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let isEventStream = false;
    let relayed = 0;
    client.on('data', (chunk: Buffer) => {
      isEventStream ||= /^GET \/v1\/operations\/[^ ]+\/events/.test(chunk.toString('latin1'));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      relayed += chunk.length;
      if (isEventStream && proxy.cuts === 0 && relayed > cutEventStreamAfterBytes) {
        proxy.cuts++;
        client.destroy();
        upstream.destroy();
      }
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () => new Promise((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  });
  return proxy;
}
