// The operation model as data: the transition table, the kinds table, scope targets, and the
// redaction of secret outputs.
import { describe, expect, it } from 'vitest';
import { redactState } from '../../src/engine/pulumi-engine.js';
import { OPERATION_KINDS, countAfter } from '../../src/operations/operation-kinds.js';
import { FINISHED_STATUSES, HOLDING_STATUSES, OPERATION_TYPES, STATUSES, TRANSITIONS } from '../../src/operations/operation.js';
import { scopeTargets } from '../../src/operations/scope.js';
import { decodeCursor, encodeCursor, keysetPage } from '../../src/store/rows.js';

describe('operation states', () => {
  it('lets no finished operation change again', () => {
    for (const status of FINISHED_STATUSES) expect(TRANSITIONS[status]).toEqual([]);
  });

  it('fences a running operation before it is interrupted: interrupted is reached only through recovering', () => {
    expect(TRANSITIONS.running).not.toContain('interrupted');
    expect(TRANSITIONS.running).toContain('recovering');
    expect(TRANSITIONS.recovering).toEqual(['interrupted']);
    expect(HOLDING_STATUSES).toEqual(['running', 'recovering']);
  });

  it('names only known states in the table', () => {
    for (const targets of Object.values(TRANSITIONS)) for (const target of targets) expect(STATUSES).toContain(target);
  });
});

describe('operation kinds', () => {
  it('has an entry for every operation type', () => {
    expect(Object.keys(OPERATION_KINDS).sort()).toEqual([...OPERATION_TYPES].sort());
  });

  it('needs a second factor and the destroy permission to destroy; a preview changes nothing', () => {
    expect(OPERATION_KINDS.destroy).toMatchObject({ permission: 'destroy', secondFactor: true, mutates: true, command: 'destroy' });
    expect(OPERATION_KINDS.preview).toMatchObject({ permission: 'operate', secondFactor: false, mutates: false, command: 'preview' });
    expect(OPERATION_KINDS.update.command).toBe('up');
  });

  it('says what a result means for the stack', () => {
    const outcome = { summary: { create: 2, same: 3, delete: 1 }, outputs: { url: 'x' } };
    expect(OPERATION_KINDS.preview.result(outcome, { scope: 'all' })).toEqual({ outputs: null, resourceCount: null });
    expect(OPERATION_KINDS.update.result(outcome, { scope: 'all' })).toEqual({ outputs: { url: 'x' }, resourceCount: 5 });
    expect(OPERATION_KINDS.destroy.result(outcome, { scope: 'all' })).toEqual({ outputs: {}, resourceCount: 0 });
    expect(OPERATION_KINDS.destroy.result(outcome, { scope: 'workloads' })).toEqual({ outputs: null, resourceCount: 5 });
    expect(countAfter({ same: 4, discard: 2, delete: 1, create: 1 })).toBe(5);
  });

  it('targets a scope\'s component and everything inside it', () => {
    expect(scopeTargets('all', 'development', 'p')).toBeUndefined();
    expect(scopeTargets('workloads', 'development', 'p')).toEqual([
      'urn:pulumi:development::p::stackpilot:scope:Workloads::*',
      'urn:pulumi:development::p::stackpilot:scope:Workloads$**',
    ]);
    expect(OPERATION_KINDS.update.flags({ scope: 'infrastructure' }, { stack: 's', project: 'p' }).targets?.[0]).toBe('urn:pulumi:s::p::stackpilot:scope:Infrastructure::*');
  });
});

describe('secret outputs', () => {
  it('replaces every secret in exported state, at any depth, and keeps the rest', () => {
    const secret = { '4dabf18193072939515e22adb298388d': '1b47061264138c4ac30d75fd1eb44270', ciphertext: 'v1:abc' };
    expect(redactState({ url: 'https://x', db: { password: secret, port: 5432 }, list: [secret, 'plain'] }))
      .toEqual({ url: 'https://x', db: { password: '[secret]', port: 5432 }, list: ['[secret]', 'plain'] });
  });
});

describe('cursors', () => {
  it('round-trips a position and refuses one this service did not make', () => {
    expect(decodeCursor(encodeCursor(12345))).toBe(12345);
    expect(() => decodeCursor('bm9wZQ')).toThrow(/cursor/);
    expect(() => decodeCursor(Buffer.from('s1e99').toString('base64url'))).toThrow(/cursor/);
  });

  it('pages newest first, with a cursor only when more follow', () => {
    const rows = [{ seq: 9 }, { seq: 8 }, { seq: 7 }];
    expect(keysetPage(rows, 2, (r) => r.seq)).toEqual({ items: [9, 8], nextCursor: encodeCursor(8) });
    expect(keysetPage(rows, 3, (r) => r.seq)).toEqual({ items: [9, 8, 7], nextCursor: null });
  });
});
