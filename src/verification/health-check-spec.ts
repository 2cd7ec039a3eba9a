// What an environment's health checks are, as set through the API (the route's schema checks
// shapes and bounds; this checks what a schema cannot: conditions that parse, unique names, a
// Prometheus to ask). A release's verification keeps the spec it began with, so changing the
// checks mid-bake changes nothing that is already running.
import { InvalidInputError } from '../errors.js';
import { parseCondition } from './condition.js';

/** Modelled on an Argo Rollouts AnalysisTemplate metric: the first sample is tested against `condition`. */
export interface PrometheusQuery {
  name: string;
  query: string;
  condition: string;
  /** Seconds between measurements (at least 5). */
  interval: number;
  /** Measurements to take. */
  count: number;
  /** Failed measurements tolerated; one more fails the release. */
  failureLimit: number;
  /** Measurements in a row that could not be taken (Prometheus down, no sample) tolerated; one more ends the verification inconclusive. */
  consecutiveErrorLimit: number;
}

export interface HealthCheckSpec {
  /** How long a release bakes before it can be verified. */
  bakeSeconds: number;
  /** The release's Deployments are available with its images, and never below their desired replicas while it bakes. */
  rollout: boolean;
  prometheus?: { url?: string; queries: PrometheusQuery[] };
  /** CloudWatch alarms by name: one seen in ALARM fails the release. */
  cloudwatch?: { region: string; alarms: string[]; interval: number };
}

export interface HealthCheckInput {
  bakeSeconds: number;
  rollout?: boolean;
  prometheus?: { url?: string; queries: Array<Omit<PrometheusQuery, 'failureLimit' | 'consecutiveErrorLimit'> & Partial<PrometheusQuery>> };
  cloudwatch?: { region: string; alarms: string[]; interval?: number };
}

export const DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4;
export const DEFAULT_ALARM_INTERVAL_SECONDS = 60;

/** The spec with its defaults, or a 400 naming the field that cannot work. */
export function normalizeSpec(input: HealthCheckInput, defaultPrometheusUrl: string | undefined): HealthCheckSpec {
  const spec: HealthCheckSpec = { bakeSeconds: input.bakeSeconds, rollout: input.rollout ?? false };
  if (input.prometheus) {
    const seen = new Set<string>();
    const queries = input.prometheus.queries.map((q, i) => {
      const field = `prometheus.queries.${i}`;
      if (!parseCondition(q.condition)) {
        throw new InvalidInputError('invalid_condition', `${field}.condition ${JSON.stringify(q.condition)} does not parse: write a comparison and a number, like "< 0.05"`, { field: `${field}.condition` });
      }
      if (seen.has(q.name)) throw new InvalidInputError('invalid_request', `two queries are named ${q.name}`, { field: `${field}.name` });
      seen.add(q.name);
      return { ...q, failureLimit: q.failureLimit ?? 0, consecutiveErrorLimit: q.consecutiveErrorLimit ?? DEFAULT_CONSECUTIVE_ERROR_LIMIT };
    });
    if (!input.prometheus.url && !defaultPrometheusUrl) {
      throw new InvalidInputError('prometheus_url_required', 'prometheus.url is needed: no STACKPILOT_PROMETHEUS_URL is set', { field: 'prometheus.url' });
    }
    spec.prometheus = { ...(input.prometheus.url ? { url: input.prometheus.url } : {}), queries };
  }
  if (input.cloudwatch) spec.cloudwatch = { ...input.cloudwatch, interval: input.cloudwatch.interval ?? DEFAULT_ALARM_INTERVAL_SECONDS };
  if (!spec.rollout && !spec.prometheus && !spec.cloudwatch) {
    throw new InvalidInputError('no_health_checks', 'name at least one check: rollout, prometheus or cloudwatch (DELETE the health checks to verify nothing)', { field: 'rollout' });
  }
  return spec;
}
