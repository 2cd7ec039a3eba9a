// A real Prometheus (Debian's package, installed when absent) scraping one target every
// second (the service's metrics, or a test exporter: test-exporter.ts), and its HTTP API for
// PromQL queries.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackages } from '../../toolchain/debian.mjs';
import { waitFor } from './wait.js';

const BINARY = '/usr/bin/prometheus';

export interface Prometheus {
  url: string;
  /** Its process, which close() ends (a test can check that it is gone). */
  pid: number;
  /** An instant query's samples: their labels and values. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  close(): Promise<void>;
}

export async function startPrometheus(target: URL): Promise<Prometheus> {
  ensureDebianPackages({ prometheus: BINARY });
  const dir = mkdtempSync(join(tmpdir(), 'stackpilot-prometheus-'));
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global: {scrape_interval: 1s, scrape_timeout: 1s}',
    'scrape_configs:',
    '  - job_name: stackpilot',
    `    metrics_path: ${target.pathname}`,
    `    static_configs: [{targets: ["${target.host}"]}]`,
  ].join('\n'));
  const port = await freePort();
  const child: ChildProcess = spawn(BINARY, [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('Prometheus to be ready', async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok, 60, 250);
  return {
    url,
    pid: child.pid!,
    async query(promql) {
      const answer = await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)).json() as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      return answer.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
