// The Prometheus metrics (prom-client 15), in one registry: process metrics, HTTP requests per
// route pattern (never the raw URL, whose ids would make a series each), and the domain's own.
// Counts that the database knows (operations, queue depth, approvals pending) are read from it
// at each scrape, so every replica reports the same totals and a restart loses none; timings are
// observed from the outbox by the `metrics` consumer (one replica at a time); webhook attempts
// and refusals are counted where they happen.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StoredOutboxEvent } from '../store/outbox-repository.js';
import type { MetricsQueries } from '../store/metrics-queries.js';
import type { OutboxConsumer } from '../notifications/outbox-dispatcher.js';

/** Operation statuses that have a result (the `result` label); running ones are not counted yet. */
const RESULTS = new Set(['succeeded', 'failed', 'cancelled', 'interrupted', 'rejected', 'expired']);
const WAITING = new Set(['queued']);
const AWAITING_APPROVAL = 'awaiting_approval';
/** Timings older than this when the consumer first sees them are skipped (see observe). */
const FRESH_MS = 10 * 60_000;
const OPERATION_SECONDS = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Histogram<'method' | 'route' | 'status_code'>;
  readonly webhookDeliveries: Counter<'result'>;
  readonly authRefusals: Counter<'reason'>;
  private readonly duration: Histogram<'type'>;
  private readonly wait: Histogram;

  constructor(queries: MetricsQueries, environments: readonly string[], engineRuns: () => Readonly<Record<string, number>> = () => ({})) {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    // Three collectors read the same counts: one query per scrape.
    let counted: { at: number; rows: ReturnType<MetricsQueries['operationCounts']> } | undefined;
    const operationCounts = () => {
      if (!counted || Date.now() - counted.at > 1000) counted = { at: Date.now(), rows: queries.operationCounts() };
      return counted.rows;
    };
    new Counter({
      name: 'stackpilot_operations_total', help: 'Operations that ended, by environment, type and result', labelNames: ['environment', 'type', 'result'] as const, registers,
      async collect() {
        this.reset();
        for (const row of await operationCounts()) if (RESULTS.has(row.status)) this.inc({ environment: row.environment, type: row.type, result: row.status }, row.count);
      },
    });
    new Gauge({
      name: 'stackpilot_queue_depth', help: 'Operations waiting for their stack', labelNames: ['environment'] as const, registers,
      async collect() {
        const depth = new Map(environments.map((e) => [e, 0]));
        for (const row of await operationCounts()) if (WAITING.has(row.status)) depth.set(row.environment, (depth.get(row.environment) ?? 0) + row.count);
        for (const [environment, count] of depth) this.set({ environment }, count);
      },
    });
    new Gauge({
      name: 'stackpilot_approvals_pending', help: 'Operations awaiting approval', registers,
      async collect() {
        this.set((await operationCounts()).filter((r) => r.status === AWAITING_APPROVAL).reduce((n, r) => n + r.count, 0));
      },
    });
    new Gauge({
      name: 'stackpilot_environment_info', help: "Each environment, its current release's number (empty before the first) and drift state (1); drift is filled in as drift checks land",
      labelNames: ['environment', 'release', 'drift'] as const, registers,
      async collect() {
        const releases = await queries.currentReleases();
        this.reset();
        for (const environment of environments) this.set({ environment, release: String(releases.get(environment) ?? ''), drift: 'unknown' }, 1);
      },
    });
    this.duration = new Histogram({ name: 'stackpilot_operation_duration_seconds', help: 'From start to end of an operation', labelNames: ['type'] as const, buckets: OPERATION_SECONDS, registers });
    this.wait = new Histogram({ name: 'stackpilot_operation_wait_seconds', help: 'From queued to started', buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600], registers });
    new Counter({
      name: 'stackpilot_engine_runs_total', help: 'Program runs by this process, by where the program ran: a resident language host, or a cold one started for the run',
      labelNames: ['language_host'] as const, registers,
      collect() {
        this.reset();
        for (const [host, count] of Object.entries(engineRuns())) this.inc({ language_host: host }, count);
      },
    });
    this.webhookDeliveries = new Counter({ name: 'stackpilot_webhook_deliveries_total', help: 'Webhook delivery attempts by result', labelNames: ['result'] as const, registers });
    this.authRefusals = new Counter({ name: 'stackpilot_auth_refusals_total', help: 'Refused requests and actions, by reason', labelNames: ['reason'] as const, registers });
    this.httpRequests = new Histogram({
      name: 'stackpilot_http_request_duration_seconds', help: 'HTTP requests by route pattern', labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60], registers,
    });
    this.timings = { name: 'metrics', handle: (event) => this.observe(queries, event) };
  }

  /** The durable outbox consumer that observes operation timings. */
  readonly timings: OutboxConsumer;

  private async observe(queries: MetricsQueries, event: StoredOutboxEvent): Promise<void> {
    if (!event.operationId || (event.kind !== 'operation.started' && event.kind !== 'operation.finished')) return;
    // A consumer new to an old database starts at its first event: history is not re-observed.
    if (Date.parse(event.createdAt) < Date.now() - FRESH_MS) return;
    const operation = await queries.operation(event.operationId);
    if (!operation?.startedAt) return;
    if (event.kind === 'operation.started') this.wait.observe(Math.max(0, operation.startedAt - operation.queuedAt) / 1000);
    else if (operation.finishedAt) this.duration.observe({ type: operation.type }, Math.max(0, operation.finishedAt - operation.startedAt) / 1000);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
