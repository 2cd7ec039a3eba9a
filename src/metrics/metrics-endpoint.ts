// Where Prometheus scrapes: by default a listener of its own on loopback (nothing else is served
// there, and no credential is needed); with STACKPILOT_METRICS_TOKEN, the main listener's
// /metrics behind that bearer token instead. Also the hook that times every HTTP request by its
// route pattern.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { register as promRegister } from 'prom-client';
import { UnauthorizedError } from '../errors.js';
import type { ServiceMetrics } from './service-metrics.js';

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

export async function startMetricsListener(metrics: ServiceMetrics, host: string, port: number): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    metrics.text().then(
      (text) => response.writeHead(200, { 'content-type': promRegister.contentType }).end(text),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be collected\n'),
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${hostPart}:${address.port}/metrics`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** GET /metrics on the main listener, for a bearer of the metrics token only (compared in constant time). */
export function registerMetricsRoute(app: FastifyInstance, metrics: ServiceMetrics, token: string): void {
  const expected = digest(`Bearer ${token}`);
  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    if (!timingSafeEqual(digest(request.headers.authorization ?? ''), expected)) {
      throw new UnauthorizedError('metrics_token_required', 'GET /metrics needs the metrics bearer token');
    }
    return reply.type(promRegister.contentType).send(await metrics.text());
  });
}

/** Times each request under its route pattern (/v1/operations/:id), or `unmatched`. */
export function registerHttpMetrics(app: FastifyInstance, metrics: ServiceMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequests.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}
