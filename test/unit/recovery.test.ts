// Recovery's pure parts: what a state export holds and whose it is, which refresh events are
// drift, cron schedules, and the kinds table's entries for restore and drift_check.
import { describe, expect, it } from 'vitest';
import { OPERATION_KINDS } from '../../src/operations/operation-kinds.js';
import { nextRun } from '../../src/recovery/drift-checks.js';
import { driftedChange } from '../../src/recovery/drift-events.js';
import { foreignUrns, parseStateExport, resourcesOf, stackOutputs } from '../../src/recovery/state-export.js';

const SECRET_SIG = '4dabf18193072939515e22adb298388d';
const state = {
  version: 3,
  deployment: {
    resources: [
      { urn: 'urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev', type: 'pulumi:pulumi:Stack', outputs: { url: 'x', token: { [SECRET_SIG]: '1b47061264138c4ac30d75fd1eb44270', ciphertext: 'v1:abc' } } },
      { urn: 'urn:pulumi:dev::proj::stackpilot:scope:Workloads::workloads', type: 'stackpilot:scope:Workloads' },
    ],
  },
};

describe('state exports', () => {
  it('parses an export and refuses what is not one', () => {
    expect(resourcesOf(parseStateExport(JSON.stringify(state))!)).toHaveLength(2);
    expect(resourcesOf(parseStateExport('{"version":3,"deployment":{}}')!)).toEqual([]);
    for (const bad of ['', 'null', '[]', '{"version":"3","deployment":{}}', '{"version":3}', '{"version":3,"deployment":{"resources":[{"urn":1}]}}']) {
      expect(parseStateExport(bad), bad).toBeUndefined();
    }
  });

  it('names the resources of another project or stack', () => {
    const parsed = parseStateExport(JSON.stringify(state))!;
    expect(foreignUrns(parsed, 'proj', 'dev')).toEqual([]);
    expect(foreignUrns(parsed, 'proj', 'prod')).toHaveLength(2);
    expect(foreignUrns(parsed, 'other', 'dev')).toHaveLength(2);
    // A stack whose name starts like another's is still another stack.
    expect(foreignUrns(parsed, 'proj', 'de')).toHaveLength(2);
  });

  it('shows the stack outputs with secrets redacted', () => {
    expect(stackOutputs(parseStateExport(JSON.stringify(state))!)).toEqual({ url: 'x', token: '[secret]' });
  });
});

describe('drift in refresh events', () => {
  const outputs = (op: string, old: unknown, next: unknown) => ({
    type: 'resOutputs', payload: { metadata: { op, urn: 'urn:a', type: 't', old: old === undefined ? undefined : { outputs: old }, new: next === undefined ? null : { outputs: next } } },
  });

  it('is a refresh that read other outputs, or found the resource gone', () => {
    expect(driftedChange(outputs('refresh', { a: 1, b: [1] }, { b: [1], a: 1 }))).toBeUndefined();
    expect(driftedChange(outputs('refresh', { replicas: 1 }, { replicas: 3 }))).toEqual({ urn: 'urn:a', type: 't', op: 'update' });
    expect(driftedChange(outputs('refresh', { replicas: 1 }, undefined))).toEqual({ urn: 'urn:a', type: 't', op: 'delete' });
    expect(driftedChange(outputs('update', {}, {}))).toEqual({ urn: 'urn:a', type: 't', op: 'update' });
    expect(driftedChange(outputs('same', {}, { x: 1 }))).toBeUndefined();
    // A refresh step's pre event comes before the read: it says nothing yet.
    expect(driftedChange({ type: 'resourcePre', payload: { metadata: { op: 'refresh', urn: 'urn:a', type: 't' } } })).toBeUndefined();
    expect(driftedChange({ type: 'diagnostic', payload: {} })).toBeUndefined();
  });
});

describe('drift schedules', () => {
  it('computes the next run, and refuses an expression that names none', () => {
    const now = Date.UTC(2026, 0, 1, 0, 30);
    expect(new Date(nextRun('0 */6 * * *', now)).toISOString()).toBe('2026-01-01T06:00:00.000Z');
    for (const cron of ['not a cron', '61 * * * *', '* * * * * * * *', '0 0 31 2 *']) {
      expect(() => nextRun(cron, now), cron).toThrow(expect.objectContaining({ code: 'invalid_cron', status: 400 }));
    }
  });
});

describe('recovery operation kinds', () => {
  it('restore: an admin with a second factor, mutating, approved where protected, a refresh preview after the import', () => {
    expect(OPERATION_KINDS.restore).toMatchObject({ permission: 'admin', secondFactor: true, mutates: true, needsApproval: true, importsBackup: true, command: 'refresh' });
    expect(OPERATION_KINDS.restore.flags({ scope: 'all' }, { stack: 'dev', project: 'p' })).toEqual({ previewOnly: true });
  });

  it('drift_check: read-only, never waits for approval, a refresh preview', () => {
    expect(OPERATION_KINDS.drift_check).toMatchObject({ permission: 'operate', mutates: false, needsApproval: false, detectsDrift: true, command: 'refresh' });
    expect(OPERATION_KINDS.drift_check.flags({ scope: 'all' }, { stack: 'dev', project: 'p' })).toEqual({ previewOnly: true });
    expect(OPERATION_KINDS.update.flags({ scope: 'all', refresh: true }, { stack: 'dev', project: 'p' })).toMatchObject({ refresh: true });
  });
});
