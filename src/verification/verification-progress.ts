// What a verification measured so far, and what that decides. Pure, so the rules are read and
// unit-tested in one place: a failure past a check's limit fails the release (first, since it
// is decisive), errors in a row past the limit make it inconclusive, and a release is verified
// once its bake period is over and every query took its count of measurements.
import type { HealthCheckSpec } from './health-check-spec.js';
import { parseCondition } from './condition.js';

/** One measurement: a value (and whether it passed), a failure found directly, or an error. */
export type Measurement = { value: number; passed: boolean } | { failure: string } | { error: string };

export interface CheckProgress {
  measurements: number;
  failures: number;
  errors: number;
  consecutiveErrors: number;
  /** Epoch ms of the last measurement. */
  lastAt: number | null;
  /** What the last measurement said, for the reason and the API. */
  last: string | null;
}

/** By check: `query:<name>`, `rollout`, `cloudwatch`. */
export type Progress = Record<string, CheckProgress>;

export type Outcome =
  | { status: 'verifying' }
  | { status: 'verified' | 'failed_verification' | 'inconclusive'; reason: string };

/** How often the rollout is looked at while the release bakes. */
export const ROLLOUT_INTERVAL_SECONDS = 2;
/** Kubernetes or CloudWatch unreachable this many times in a row ends the verification inconclusive. */
export const SOURCE_ERROR_LIMIT = 4;

interface CheckRule {
  key: string;
  intervalSeconds: number;
  /** Measurements after which it stops; undefined: measured until the verification ends. */
  count?: number;
  failureLimit: number;
  consecutiveErrorLimit: number;
  describe: string;
}

export function checksOf(spec: HealthCheckSpec): CheckRule[] {
  const rules: CheckRule[] = [];
  if (spec.rollout) rules.push({ key: 'rollout', intervalSeconds: ROLLOUT_INTERVAL_SECONDS, failureLimit: 0, consecutiveErrorLimit: SOURCE_ERROR_LIMIT, describe: 'the Kubernetes rollout' });
  for (const q of spec.prometheus?.queries ?? []) {
    rules.push({ key: `query:${q.name}`, intervalSeconds: q.interval, count: q.count, failureLimit: q.failureLimit, consecutiveErrorLimit: q.consecutiveErrorLimit, describe: `query ${q.name} (${parseCondition(q.condition)?.text ?? q.condition})` });
  }
  if (spec.cloudwatch) rules.push({ key: 'cloudwatch', intervalSeconds: spec.cloudwatch.interval, failureLimit: 0, consecutiveErrorLimit: SOURCE_ERROR_LIMIT, describe: 'the CloudWatch alarms' });
  return rules;
}

export function emptyProgress(spec: HealthCheckSpec): Progress {
  return Object.fromEntries(checksOf(spec).map((rule) => [rule.key, { measurements: 0, failures: 0, errors: 0, consecutiveErrors: 0, lastAt: null, last: null }]));
}

/** The checks due for a measurement at `now`. */
export function dueChecks(spec: HealthCheckSpec, progress: Progress, now: number): string[] {
  return checksOf(spec).filter((rule) => {
    const p = progress[rule.key];
    if (!p || (rule.count !== undefined && p.measurements >= rule.count)) return false;
    return p.lastAt === null || now >= p.lastAt + rule.intervalSeconds * 1000;
  }).map((rule) => rule.key);
}

/** The progress with one more measurement of `key`. */
export function record(progress: Progress, key: string, measurement: Measurement, now: number): Progress {
  const p = progress[key]!;
  const next: CheckProgress = { ...p, measurements: p.measurements + 1, lastAt: now };
  if ('error' in measurement) {
    next.errors += 1;
    next.consecutiveErrors += 1;
    next.last = `error: ${measurement.error}`;
  } else {
    next.consecutiveErrors = 0;
    const failed = 'failure' in measurement || !measurement.passed;
    if (failed) next.failures += 1;
    next.last = 'failure' in measurement ? measurement.failure : `${measurement.value}${measurement.passed ? '' : ' (failed)'}`;
  }
  return { ...progress, [key]: next };
}

export function judge(spec: HealthCheckSpec, progress: Progress, now: number, bakeUntil: number): Outcome {
  const rules = checksOf(spec);
  for (const rule of rules) {
    const p = progress[rule.key]!;
    if (p.failures > rule.failureLimit) {
      return { status: 'failed_verification', reason: `${rule.describe} failed ${p.failures} of ${p.measurements} measurements (limit ${rule.failureLimit}); last: ${p.last}` };
    }
  }
  for (const rule of rules) {
    const p = progress[rule.key]!;
    if (p.consecutiveErrors > rule.consecutiveErrorLimit) {
      return { status: 'inconclusive', reason: `${rule.describe} could not be measured ${p.consecutiveErrors} times in a row (limit ${rule.consecutiveErrorLimit}); last: ${p.last}` };
    }
  }
  const counted = rules.every((rule) => progress[rule.key]!.measurements >= (rule.count ?? 1));
  if (now >= bakeUntil && counted) {
    return { status: 'verified', reason: `every check passed: ${rules.map((r) => `${r.describe}, ${progress[r.key]!.measurements} measurements`).join('; ')}` };
  }
  return { status: 'verifying' };
}
