// Approvals on saved plans, with the real engine on each database: an update of a protected
// environment plans and waits (no engine process, the stack held against other changes but
// not previews), is applied exactly once another person approves, and is refused as stale
// when its ground moved. The refusals (the requester approving, a production approval without
// a second factor, an expired plan) are each audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { person, refusals, settled, type Person } from '../support/releases.js';
import { startTestService, type TestService } from '../support/service.js';
import { parseSse } from '../support/sse.js';

describe.each(DATABASES)('approvals on %s', (database) => {
  let service: TestService;
  let ci: Person;
  let ciApprover: Person;
  let alice: Person;
  let bobKey: Person;
  let bob: Person;

  beforeAll(async () => {
    service = await startTestService({ database, config: { protectedEnvironments: ['staging', 'production'], approvalTtlSeconds: 3600 } });
    ci = await person(service, 'ci', [{ role: 'deployer', environments: ['staging', 'production'] }]);
    // The same principal through another credential, which may approve: still the same person.
    ciApprover = await person(service, 'ci', [{ role: 'approver', environments: ['staging'] }]);
    alice = await person(service, 'alice', [{ role: 'approver', environments: ['staging'] }]);
    bobKey = await person(service, 'bob', [{ role: 'approver', environments: ['production'] }]);
    bob = { ...bobKey, ...(await person(service, 'bob', [{ role: 'approver', environments: ['production'] }], true)) };
  }, 120_000);
  afterAll(async () => {
    await service?.close();
  });

  const queue = async (who: Person, env: string, payload: object) => {
    const response = await who.request({ method: 'POST', url: `/v1/environments/${env}/operations`, payload });
    expect(response.statusCode, response.body).toBe(202);
    return response.json().id as string;
  };
  const decide = (who: Person, id: string, decision: 'approve' | 'reject', comment?: string) =>
    who.request({ method: 'POST', url: `/v1/operations/${id}/${decision}`, payload: comment ? { comment } : {} });
  const outputs = async (env: string) => (await service.inject({ url: `/v1/environments/${env}` })).json().outputs;

  it('plans, waits holding no engine, lets previews by, and applies the approved plan exactly', async () => {
    const id = await queue(ci, 'staging', { type: 'update', config: { set: { workloadGeneration: 'g2' }, message: 'ship g2' } });
    const waiting = await settled(service, id);
    expect(waiting.status).toBe('awaiting_approval');
    expect(waiting.plan).toMatchObject({ summary: { create: 5 }, approvals: [], approvalsNeeded: 1, configVersion: waiting.configVersion });
    expect(waiting.plan.changes.map((c: { op: string }) => c.op)).toEqual(['create', 'create', 'create', 'create', 'create']);
    expect(service.engine.processes(id)).toEqual([]);
    const env = (await service.inject({ url: '/v1/environments/staging' })).json();
    expect(env).toMatchObject({ status: 'awaiting_approval', awaitingApproval: id, holder: null });
    // (Its live stream stays open until it ends: the stored events are read here.)
    const events = await service.repositories.eventLog.events(id, 0);
    expect(events.at(-1)).toMatchObject({ type: 'approval', payload: { status: 'awaiting_approval', summary: { create: 5 } } });

    // Another change of the stack waits behind the plan; a preview does not.
    const refresh = await queue(ci, 'staging', { type: 'refresh' });
    const preview = await settled(service, await queue(ci, 'staging', { type: 'preview' }));
    expect(preview.status).toBe('succeeded');
    expect((await service.inject({ url: `/v1/operations/${refresh}` })).json().status).toBe('queued');

    for (const requester of [ci, ciApprover]) {
      const refused = await decide(requester, id, 'approve');
      expect(refused.statusCode).toBe(403);
      expect(refused.json().code).toBe(requester === ci ? 'forbidden' : 'approver_is_requester');
    }
    const approved = await decide(alice, id, 'approve', 'looks right');
    expect(approved.statusCode, approved.body).toBe(200);
    const applied = await settled(service, id);
    expect(applied.status, applied.error).toBe('succeeded');
    expect(applied.summary).toEqual({ create: 5 });
    expect(await outputs('staging')).toMatchObject({ workloadGeneration: 'g2' });
    const releases = (await service.inject({ url: '/v1/environments/staging/releases' })).json().items;
    expect(releases).toMatchObject([{ number: 1, status: 'current', approvedBy: ['alice'], requestedBy: 'ci', operationId: id }]);
    // One stream from plan to apply: sequences 1, 2, 3… with the approval between them.
    const stream = parseSse((await service.inject({ url: `/v1/operations/${id}/events`, headers: { accept: 'text/event-stream' } })).body);
    expect(stream.map((e) => Number(e.id))).toEqual(stream.map((_, i) => i + 1));
    expect(stream.filter((e) => e.event === 'prelude')).toHaveLength(2);
    expect(stream.at(-1)?.event).toBe('result');
    expect((await settled(service, refresh)).status).toBe('succeeded');
    expect(await refusals(service, 'ci')).toContainEqual(['approveOperation', 'approver_is_requester']);
  });

  it('refuses a plan made stale by a configuration change before any engine runs', async () => {
    const id = await queue(ci, 'staging', { type: 'update', config: { set: { workloadGeneration: 'g3' } } });
    expect((await settled(service, id)).status).toBe('awaiting_approval');
    const config = await ci.request({ url: '/v1/environments/staging/config' });
    const changed = await ci.request({ method: 'PATCH', url: '/v1/environments/staging/config', headers: { 'if-match': config.headers.etag as string }, payload: { set: { infraGeneration: 'i9' } } });
    expect(changed.statusCode, changed.body).toBe(201);
    const before = await service.repositories.eventLog.events(id, 0);
    expect((await decide(alice, id, 'approve')).statusCode).toBe(200);
    const stale = await settled(service, id);
    expect(stale).toMatchObject({ status: 'failed', errorCode: 'plan_stale' });
    expect(stale.error).toMatch(/configuration is at version \d+, the plan was made with \d+/);
    // Nothing ran: no engine event after the approval, and the stack is as it was.
    const after = parseSse((await service.inject({ url: `/v1/operations/${id}/events` })).body);
    expect(after.map((e) => e.event).slice(before.length)).toEqual(['result']);
    expect(await outputs('staging')).toMatchObject({ workloadGeneration: 'g2', infraGeneration: '1' });
  });

  it('needs a second factor on production, ends a rejected plan, and refuses an expired one', async () => {
    const id = await queue(ci, 'production', { type: 'update' });
    expect((await settled(service, id)).status).toBe('awaiting_approval');
    const noFactor = await decide(bobKey, id, 'approve');
    expect(noFactor.statusCode).toBe(403);
    expect(noFactor.json().code).toBe('second_factor_required');
    const rejected = await decide(bob, id, 'reject', 'not today');
    expect(rejected.statusCode, rejected.body).toBe(200);
    expect(rejected.json()).toMatchObject({ status: 'rejected', errorCode: 'rejected', error: 'rejected by bob: not today' });

    const late = await queue(ci, 'production', { type: 'update' });
    expect((await settled(service, late)).status).toBe('awaiting_approval');
    await service.releases.approvals.sweep(Date.now() + 3600_000 + 1000);
    expect((await service.inject({ url: `/v1/operations/${late}` })).json()).toMatchObject({ status: 'expired', errorCode: 'approval_expired' });
    const expired = await decide(bob, late, 'approve');
    expect(expired.statusCode).toBe(409);
    expect(expired.json().code).toBe('approval_expired');
    const notWaiting = await decide(bob, id, 'approve');
    expect(notWaiting.statusCode).toBe(400);
    expect(notWaiting.json().code).toBe('not_awaiting_approval');

    const refused = await refusals(service, 'bob');
    expect(refused).toContainEqual(['approveOperation', 'second_factor_required']);
    expect(refused).toContainEqual(['approveOperation', 'approval_expired']);
    const resources = (await service.inject({ url: '/v1/environments/production' })).json().resourceCount;
    expect(resources).toBeNull(); // neither plan was ever applied
  });

  it('plans a destroy too, and applies it once approved', async () => {
    const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/staging/operations', payload: { type: 'destroy' } })).json();
    const waiting = await settled(service, id);
    expect(waiting.status, waiting.error).toBe('awaiting_approval');
    expect(waiting.plan.summary).toMatchObject({ delete: 5 });
    expect((await decide(alice, id, 'approve')).statusCode).toBe(200);
    const destroyed = await settled(service, id);
    expect(destroyed.status, destroyed.error).toBe('succeeded');
    expect(destroyed.resourceCount).toBe(0);
  });
});
