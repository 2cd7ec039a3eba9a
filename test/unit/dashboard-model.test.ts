// What the dashboard makes of the API's answers, without a browser: failures in words (never
// JSON), and engine events turned into resource rows and progress.
import { describe, expect, it } from 'vitest';
import { describeFailure } from '../../web/src/failure.js';
import { ResourceProgress } from '../../web/src/resource-progress.js';

describe('failures in words', () => {
  it("puts the service's own sentence after a general one, and hides 5xx details", () => {
    expect(describeFailure(403, { code: 'forbidden', detail: 'victor may not operate development', title: 'Forbidden' }).message)
      .toBe('You are not allowed to do this: victor may not operate development.');
    expect(describeFailure(409, { code: 'operation_finished', detail: 'the operation has finished.' }).message)
      .toBe('This conflicts with what is happening now: the operation has finished.');
    expect(describeFailure(500, { detail: 'stack trace', requestId: 'r-1' }).message)
      .toBe('Something failed in the service (request r-1). Try again; if it keeps failing, tell an administrator.');
    expect(describeFailure(418, 'not json').message).toBe('The request was refused.');
    for (const status of [400, 401, 404, 412, 422, 429]) expect(describeFailure(status, { detail: 'x', title: 'y' }).message).not.toMatch(/[{}]/);
  });
});

describe('resource progress', () => {
  const urn = (name: string) => `urn:pulumi:development::p::stackpilot:test:Marker::${name}`;
  let sequence = 0;
  const event = (type: string, payload: unknown, receivedAt: number) => ({ sequence: ++sequence, type, payload, receivedAt });

  it('makes a row per resource with its step, done at its outputs, every row done at the result', () => {
    const progress = new ResourceProgress();
    progress.apply(event('prelude', {}, 0));
    progress.apply(event('resourcePre', { metadata: { op: 'create', urn: urn('a'), type: 'stackpilot:test:Marker' } }, 100));
    progress.apply(event('resourcePre', { metadata: { op: 'same', urn: urn('b'), type: 'stackpilot:test:Marker' } }, 150));
    progress.apply(event('resOutputs', { metadata: { op: 'create', urn: urn('a') } }, 400));
    expect(progress.done).toBe(1);
    expect([...progress.rows.values()]).toMatchObject([
      { name: 'a', step: 'create', startedAt: 100, doneAt: 400 },
      { name: 'b', step: 'same', startedAt: 150 },
    ]);
    expect(progress.rows.get(urn('b'))?.doneAt).toBeUndefined();
    progress.apply(event('result', { status: 'succeeded' }, 500));
    expect(progress).toMatchObject({ done: 2, events: 5, lastSequence: sequence, finished: true });
  });

  it('marks a failed step', () => {
    const progress = new ResourceProgress();
    progress.apply(event('resourcePre', { metadata: { op: 'update', urn: urn('c') } }, 0));
    progress.apply(event('resOpFailed', { metadata: { op: 'update', urn: urn('c') } }, 10));
    expect(progress.rows.get(urn('c'))).toMatchObject({ failed: true, doneAt: 10 });
  });
});
