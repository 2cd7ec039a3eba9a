// A small Prometheus exporter whose one gauge the test sets: the error ratio a real Prometheus
// scrapes from it, and that the verifier's queries read back through that Prometheus.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestExporter {
  /** Where Prometheus scrapes: http://127.0.0.1:<port>/metrics */
  metricsUrl: URL;
  set(value: number): void;
  close(): Promise<void>;
}

export const ERROR_RATIO_METRIC = 'toronto_http_error_ratio';

export async function startTestExporter(initial = 0): Promise<TestExporter> {
  let value = initial;
  const server = createServer((request, response) => {
    if (request.url !== '/metrics') return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(`# HELP ${ERROR_RATIO_METRIC} Share of requests answered with a 5xx.\n# TYPE ${ERROR_RATIO_METRIC} gauge\n${ERROR_RATIO_METRIC} ${value}\n`);
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    metricsUrl: new URL(`http://127.0.0.1:${port}/metrics`),
    set(next) {
      value = next;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
