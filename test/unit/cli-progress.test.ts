// What --follow draws: resources done of total (the stack's earlier count a first guess), the
// resource the engine is on, and one plain line per event for logs.
import { describe, expect, it } from 'vitest';
import { Progress, plainLine } from '../../cli/progress.js';

const urn = (name: string) => `urn:pulumi:development::project::stackpilot:scope:Workloads$kubernetes:apps/v1:Deployment::${name}`;
const pre = (id: number, name: string, op = 'create') => ({ id: String(id), type: 'resourcePre', payload: { metadata: { urn: urn(name), op } } });
const done = (id: number, name: string) => ({ id: String(id), type: 'resOutputs', payload: { metadata: { urn: urn(name), op: 'create' } } });

describe('--follow progress', () => {
  it('counts resources done of the larger of seen and expected, naming the current one', () => {
    const progress = new Progress(3);
    expect(progress.line()).toMatch(/^0\/3 resources · \d+s$/);
    progress.observe(pre(1, 'backend'));
    expect(progress.line()).toMatch(/^0\/3 resources · create Deployment backend · \d+s$/);
    progress.observe(done(2, 'backend'));
    for (const [i, name] of ['frontend', 'worker', 'cache'].entries()) progress.observe(pre(3 + i, name, 'update'));
    expect(progress.line()).toMatch(/^1\/4 resources · update Deployment cache/);
  });

  it('prints one plain line per event', () => {
    expect(plainLine(pre(7, 'backend'))).toBe(`[7] resourcePre create ${urn('backend')}`);
    expect(plainLine({ id: '8', type: 'diagnostic', payload: { severity: 'warning', message: 'slow\n' } })).toBe('[8] diagnostic warning slow');
    expect(plainLine({ id: '9', type: 'result', payload: { status: 'failed', error: 'boom' } })).toBe('[9] result failed: boom');
  });
});
