// Verified releases' pure parts: the condition parser, what a run of measurements decides, the
// Deployments a state export holds, and CloudWatch alarms read through a mock client (AWS
// cannot run here: this is the only test of that source).
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import { CloudWatchAlarmStates, measureAlarms } from '../../src/verification/cloudwatch-alarms.js';
import { holds, parseCondition } from '../../src/verification/condition.js';
import { normalizeSpec, type HealthCheckSpec } from '../../src/verification/health-check-spec.js';
import { deploymentsOf, repositoryOf } from '../../src/verification/kubernetes-rollout.js';
import { dueChecks, emptyProgress, judge, record, type Progress } from '../../src/verification/verification-progress.js';

describe('conditions', () => {
  it('parses a comparison and a number, bare or as Argo writes it', () => {
    expect(parseCondition('< 0.05')).toEqual({ op: '<', threshold: 0.05, text: '< 0.05' });
    expect(parseCondition('>=0.99')).toMatchObject({ op: '>=', threshold: 0.99 });
    expect(parseCondition('result[0] <= 1e-3')).toMatchObject({ op: '<=', threshold: 0.001 });
    expect(parseCondition(' result != -2 ')).toMatchObject({ op: '!=', threshold: -2 });
    expect(parseCondition('== .5')).toMatchObject({ op: '==', threshold: 0.5 });
  });

  it('refuses anything else', () => {
    for (const bad of ['', '0.05', '<', '< abc', '<< 1', '=< 1', '< 1 2', 'result[1] < 1', 'len(result) > 0', '< 0.05; drop', '< 1e999', '> NaN']) {
      expect(parseCondition(bad), bad).toBeUndefined();
    }
  });

  it('tests a sample, and NaN passes nothing', () => {
    const below = parseCondition('< 0.05')!;
    expect(holds(below, 0.01)).toBe(true);
    expect(holds(below, 0.05)).toBe(false);
    expect(holds(below, 0.5)).toBe(false);
    expect(holds(parseCondition('>= 1')!, 1)).toBe(true);
    for (const op of ['<', '<=', '>', '>=', '==', '!=']) expect(holds(parseCondition(`${op} 1`)!, Number.NaN), op).toBe(false);
  });
});

describe('health check specs', () => {
  const query = { name: 'errors', query: 'x', condition: '< 0.05', interval: 5, count: 3 };
  it('fills in the limits and refuses what cannot work, naming the field', () => {
    expect(normalizeSpec({ bakeSeconds: 10, prometheus: { url: 'http://p', queries: [query] } }, undefined).prometheus!.queries[0])
      .toMatchObject({ failureLimit: 0, consecutiveErrorLimit: 4 });
    const refused = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return error instanceof InvalidInputError ? [error.code, error.details.field] : error;
      }
      return 'accepted';
    };
    expect(refused(() => normalizeSpec({ bakeSeconds: 10, prometheus: { url: 'http://p', queries: [{ ...query, condition: 'below 5' }] } }, undefined)))
      .toEqual(['invalid_condition', 'prometheus.queries.0.condition']);
    expect(refused(() => normalizeSpec({ bakeSeconds: 10, prometheus: { queries: [query] } }, undefined))).toEqual(['prometheus_url_required', 'prometheus.url']);
    expect(refused(() => normalizeSpec({ bakeSeconds: 10, prometheus: { queries: [query] } }, 'http://default'))).toBe('accepted');
    expect(refused(() => normalizeSpec({ bakeSeconds: 10, prometheus: { url: 'http://p', queries: [query, query] } }, undefined))).toEqual(['invalid_request', 'prometheus.queries.1.name']);
    expect(refused(() => normalizeSpec({ bakeSeconds: 10 }, undefined))).toEqual(['no_health_checks', 'rollout']);
  });
});

describe('what measurements decide', () => {
  const spec: HealthCheckSpec = {
    bakeSeconds: 20, rollout: true,
    prometheus: { url: 'http://p', queries: [{ name: 'errors', query: 'x', condition: '< 0.05', interval: 5, count: 3, failureLimit: 1, consecutiveErrorLimit: 2 }] },
  };
  const t0 = 1_000_000;
  const bakeUntil = t0 + 20_000;
  const run = (steps: Array<[string, Parameters<typeof record>[2], number]>): Progress =>
    steps.reduce((p, [key, m, at]) => record(p, key, m, at), emptyProgress(spec));

  it('measures each check when its interval has passed, and a query no more than its count', () => {
    let p = emptyProgress(spec);
    expect(dueChecks(spec, p, t0)).toEqual(['rollout', 'query:errors']);
    p = record(record(p, 'rollout', { value: 2, passed: true }, t0), 'query:errors', { value: 0, passed: true }, t0);
    expect(dueChecks(spec, p, t0 + 2_000)).toEqual(['rollout']);
    expect(dueChecks(spec, p, t0 + 5_000)).toEqual(['rollout', 'query:errors']);
    p = record(record(p, 'query:errors', { value: 0, passed: true }, t0 + 5_000), 'query:errors', { value: 0, passed: true }, t0 + 10_000);
    expect(dueChecks(spec, p, t0 + 60_000)).toEqual(['rollout']);
  });

  it('is verified once the bake is over and every query took its count', () => {
    const ok = { value: 0, passed: true };
    const p = run([['rollout', ok, t0], ['query:errors', ok, t0], ['query:errors', ok, t0 + 5000], ['query:errors', ok, t0 + 10_000]]);
    expect(judge(spec, p, t0 + 15_000, bakeUntil)).toEqual({ status: 'verifying' });
    expect(judge(spec, p, bakeUntil, bakeUntil).status).toBe('verified');
    expect(judge(spec, run([['rollout', ok, t0], ['query:errors', ok, t0]]), bakeUntil + 1, bakeUntil)).toEqual({ status: 'verifying' });
  });

  it('fails past the failure limit, at once, with the measured value in the reason', () => {
    const bad = { value: 0.5, passed: false };
    expect(judge(spec, run([['query:errors', bad, t0]]), t0, bakeUntil)).toEqual({ status: 'verifying' });
    const failed = judge(spec, run([['query:errors', bad, t0], ['query:errors', bad, t0 + 5000]]), t0 + 5000, bakeUntil);
    expect(failed).toEqual({ status: 'failed_verification', reason: 'query errors (< 0.05) failed 2 of 2 measurements (limit 1); last: 0.5 (failed)' });
    const rollout = judge(spec, run([['rollout', { failure: 'ns/backend has 0 of 1 replicas available' }, t0]]), t0, bakeUntil);
    expect(rollout).toMatchObject({ status: 'failed_verification', reason: expect.stringContaining('0 of 1 replicas available') });
  });

  it('is inconclusive after errors in a row past their limit; a sample in between resets the count', () => {
    const down = { error: 'Prometheus did not answer' };
    const ok = { value: 0, passed: true };
    expect(judge(spec, run([['query:errors', down, t0], ['query:errors', down, t0], ['query:errors', ok, t0], ['query:errors', down, t0]]), t0, bakeUntil).status).toBe('verifying');
    const stuck = judge(spec, run([['query:errors', down, t0], ['query:errors', down, t0], ['query:errors', down, t0]]), t0, bakeUntil);
    expect(stuck).toMatchObject({ status: 'inconclusive', reason: expect.stringContaining('3 times in a row (limit 2)') });
  });
});

describe('the rollout check', () => {
  it('finds the Deployments of a state export', () => {
    const state = { deployment: { resources: [
      { type: 'kubernetes:apps/v1:Deployment', outputs: { metadata: { namespace: 'app', name: 'backend' } } },
      { type: 'kubernetes:apps/v1:Deployment', delete: true, outputs: { metadata: { namespace: 'app', name: 'old' } } },
      { type: 'kubernetes:apps/v1:StatefulSet', outputs: { metadata: { namespace: 'data', name: 'postgres' } } },
    ] } };
    expect(deploymentsOf(JSON.stringify(state))).toEqual([{ namespace: 'app', name: 'backend' }]);
  });

  it('compares images by repository', () => {
    expect(repositoryOf('registry.toronto-ai.local/backend:1.1.0')).toBe('registry.toronto-ai.local/backend');
    expect(repositoryOf('localhost:5000/backend')).toBe('localhost:5000/backend');
    expect(repositoryOf('backend@sha256:abc')).toBe('backend');
  });
});

describe('CloudWatch alarms (mocked client)', () => {
  const client = (states: Record<string, string>, fail?: Error) => ({
    send: async (command: DescribeAlarmsCommand) => {
      if (fail) throw fail;
      expect(command).toBeInstanceOf(DescribeAlarmsCommand);
      const names = command.input.AlarmNames ?? [];
      return { MetricAlarms: names.filter((n) => states[n]).map((n) => ({ AlarmName: n, StateValue: states[n] })), CompositeAlarms: [] };
    },
  }) as never;

  it('passes with every alarm OK, fails on one in ALARM, and errors on a missing alarm or an unreachable API', async () => {
    const ok = new CloudWatchAlarmStates(() => client({ 'rds-cpu': 'OK', '5xx': 'INSUFFICIENT_DATA' }));
    expect(await measureAlarms(ok, 'ca-central-1', ['rds-cpu', '5xx'])).toEqual({ value: 0, passed: true });
    const firing = new CloudWatchAlarmStates(() => client({ 'rds-cpu': 'OK', '5xx': 'ALARM' }));
    expect(await measureAlarms(firing, 'ca-central-1', ['rds-cpu', '5xx'])).toEqual({ failure: 'in ALARM: 5xx' });
    expect(await measureAlarms(ok, 'ca-central-1', ['gone'])).toEqual({ error: 'no CloudWatch alarm named gone in ca-central-1' });
    const down = new CloudWatchAlarmStates(() => client({}, new Error('connect ETIMEDOUT')));
    expect(await measureAlarms(down, 'ca-central-1', ['rds-cpu'])).toEqual({ error: 'CloudWatch did not answer: connect ETIMEDOUT' });
  });

  it('asks one client per region, 100 names a call', async () => {
    const regions: string[] = [];
    let calls = 0;
    const states = new CloudWatchAlarmStates((region) => {
      regions.push(region);
      return { send: async () => (calls++, { MetricAlarms: [] }) } as never;
    });
    await states.states('us-east-1', Array.from({ length: 150 }, (_, i) => `a${i}`));
    await states.states('us-east-1', ['a']);
    expect(regions).toEqual(['us-east-1']);
    expect(calls).toBe(3);
  });
});
