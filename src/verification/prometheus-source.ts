// One measurement of a Prometheus query: an instant query over the HTTP API, its first sample
// tested against the condition (as Argo Rollouts does with `result[0]`). Anything that is not
// a sample (Prometheus unreachable, an error answer, an empty result) is an error, not a
// failure: it counts towards the consecutive error limit, never towards a rollback.
import { holds, parseCondition } from './condition.js';
import type { PrometheusQuery } from './health-check-spec.js';
import type { Measurement } from './verification-progress.js';

const TIMEOUT_MS = 5_000;

interface QueryAnswer {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: unknown };
}

export async function measureQuery(baseUrl: string, query: PrometheusQuery): Promise<Measurement> {
  const url = new URL('api/v1/query', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  url.searchParams.set('query', query.query);
  let answer: QueryAnswer;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: { accept: 'application/json' } });
    answer = await response.json() as QueryAnswer;
  } catch (error) {
    return { error: `Prometheus at ${url.origin} did not answer: ${(error as Error).message}` };
  }
  if (answer.status !== 'success' || !answer.data) return { error: `Prometheus refused the query: ${answer.error ?? 'no data'}` };
  const value = firstSample(answer.data);
  if (value === undefined) return { error: 'the query returned no sample' };
  return { value, passed: holds(parseCondition(query.condition)!, value) };
}

/** The first sample's value: a vector's first element, or a scalar. */
function firstSample(data: { resultType: string; result: unknown }): number | undefined {
  if (data.resultType === 'scalar') return Number((data.result as [number, string])[1]);
  if (data.resultType === 'vector') {
    const first = (data.result as Array<{ value: [number, string] }>)[0];
    return first ? Number(first.value[1]) : undefined;
  }
  return undefined;
}
