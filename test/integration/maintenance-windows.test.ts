// Maintenance windows with the real engine, on each database: outside its window an update is
// scheduled and nothing runs, a preview goes ahead, an advance notice carries a fresh
// preview's summary, and when the window opens the scheduled changes run in the order they
// were asked for. An admin may bypass the window only with a reason, which the audit trail
// keeps; bad rules are 400s that write nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../support/credentials.js';
import { DATABASES } from '../support/databases.js';
import { person, settled, type Person } from '../support/releases.js';
import { startTestService, type TestService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

/** A six-field cron (seconds first) naming one moment, in UTC. */
const cronAt = (t: number) => {
  const d = new Date(t);
  return `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} *`;
};
/** A window that opens on January 1st only: shut for the whole test. */
const NEW_YEAR = { cron: '0 0 1 1 *', duration: 'PT1H', timezone: 'UTC' };

describe.each(DATABASES)('maintenance windows on %s', (database) => {
  let service: TestService;
  let deployer: Person;

  beforeAll(async () => {
    service = await startTestService({ database });
    deployer = await person(service, 'deployer', [{ role: 'deployer', environments: ['development'] }]);
  }, 120_000);
  afterAll(async () => {
    await service?.close();
  });

  const setWindows = (payload: object, who?: Person) => (who ? who.request.bind(who) : service.inject.bind(service))({
    method: 'PUT', url: '/v1/environments/development/windows', payload,
  });
  const queue = async (payload: object) => {
    const response = await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload });
    expect(response.statusCode, response.body).toBe(202);
    return response.json();
  };
  const operation = async (id: string) => (await service.inject(`/v1/operations/${id}`)).json();
  const finished = async (id: string) => waitFor(`operation ${id} to finish`, async () => {
    const op = await operation(id);
    return op.finishedAt ? op : undefined;
  }, 300, 250);
  const notices = async (operationId: string) => (await service.repositories.outbox.after(0, 100_000))
    .filter((e) => e.kind === 'maintenance.notice' && e.operationId === operationId);
  const operationCount = async () => (await service.inject('/v1/environments/development/operations?limit=100')).json().items.length;

  it('refuses rules that cannot work with 400 problem+json, and writes nothing', async () => {
    const ok = { cron: '0 2 * * 0', duration: 'PT2H', timezone: 'America/Toronto' };
    const cases: Array<[object, string, string]> = [
      [{ windows: [{ ...ok, cron: 'every sunday' }] }, 'invalid_cron', 'windows.0.cron'],
      [{ windows: [ok, { ...ok, cron: '61 * * * *' }] }, 'invalid_cron', 'windows.1.cron'],
      [{ windows: [{ ...ok, timezone: 'America/Atlantis' }] }, 'unknown_time_zone', 'windows.0.timezone'],
      [{ windows: [{ ...ok, duration: 'PT0S' }] }, 'invalid_duration', 'windows.0.duration'],
      [{ windows: [{ ...ok, duration: '-PT2H' }] }, 'invalid_duration', 'windows.0.duration'],
      [{ windows: [ok], freezes: [{ from: '2026-12-24T00:00:00Z', to: '2026-12-20T00:00:00Z', reason: 'holidays' }] }, 'invalid_freeze', 'freezes.0.to'],
      [{ windows: [ok], freezes: [{ from: '2026-12-24T00:00:00Z', to: '2026-12-24T00:00:00Z', reason: 'holidays' }] }, 'invalid_freeze', 'freezes.0.to'],
    ];
    for (const [payload, code, field] of cases) {
      const response = await setWindows(payload);
      expect(response.statusCode, response.body).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json()).toMatchObject({ code, field });
    }
    // Only the environment's admins set its windows.
    expect((await setWindows({ windows: [ok] }, deployer)).json().code).toBe('forbidden');
    const calendar = (await service.inject('/v1/environments/development/windows')).json();
    expect(calendar).toMatchObject({ windows: [], freezes: [], noticeHours: 24, open: true, nextOpenings: [], updatedBy: null });
  });

  it('schedules updates while the window is shut, lets previews by, announces them, and runs them in order when it opens', async () => {
    const shut = await setWindows({ windows: [NEW_YEAR] });
    expect(shut.statusCode, shut.body).toBe(200);
    expect(shut.json()).toMatchObject({ open: false, windows: [NEW_YEAR], updatedBy: 'bootstrap-admin' });
    expect(shut.json().nextOpenings).toHaveLength(5);
    expect(shut.json().nextOpenings[0]).toMatchObject({ timezone: 'UTC', local: { opensAt: expect.stringMatching(/-01-01T00:00:00\+00:00$/) } });

    const first = await queue({ type: 'update', message: 'first' });
    const second = await queue({ type: 'update', message: 'second' });
    for (const scheduled of [first, second]) {
      expect(scheduled).toMatchObject({ status: 'scheduled', notBefore: shut.json().nextOpenings[0].opensAt, startedAt: null });
    }
    expect((await service.inject('/v1/maintenance')).json().items.map((o: { id: string }) => o.id)).toEqual([first.id, second.id]);

    // A preview is never held; the scheduled updates do not move meanwhile.
    const preview = await queue({ type: 'preview' });
    expect(preview.status).toBe('queued');
    expect((await settled(service, preview.id)).status).toBe('succeeded');
    for (const scheduled of [first, second]) expect(await operation(scheduled.id)).toMatchObject({ status: 'scheduled', startedAt: null });

    // The first notice: what the update will change, from a preview run for it.
    const [notice] = await waitFor('the first notice', async () => ((await notices(first.id)).length ? notices(first.id) : undefined), 300, 250);
    expect(notice).toMatchObject({
      environment: 'development',
      payload: { notice: 'scheduled', type: 'update', notBefore: first.notBefore, requestedBy: 'bootstrap-admin', preview: { status: 'succeeded' } },
    });
    expect(Object.values(notice!.payload.summary as Record<string, number>).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const noticePreview = await operation((notice!.payload.preview as { operationId: string }).operationId);
    expect(noticePreview).toMatchObject({ type: 'preview', requestedBy: 'system:maintenance-notice', spec: { notice: { operation: first.id, notice: 'scheduled' } } });

    // The window now opens in a few seconds: the scheduled updates follow the new rules.
    const opensAt = Math.ceil((Date.now() + 8000) / 1000) * 1000;
    const soon = await setWindows({ windows: [{ cron: cronAt(opensAt), duration: 'PT10M', timezone: 'UTC' }] });
    expect(soon.json().nextOpenings[0].opensAt).toBe(new Date(opensAt).toISOString());
    if (Date.now() < opensAt - 1000) expect(await operation(first.id)).toMatchObject({ status: 'scheduled', notBefore: new Date(opensAt).toISOString() });

    const [ranFirst, ranSecond] = [await finished(first.id), await finished(second.id)];
    expect(ranFirst.status, ranFirst.error).toBe('succeeded');
    expect(ranSecond.status, ranSecond.error).toBe('succeeded');
    // Nothing started before the window opened, and they ran in the order they were asked for.
    expect(Date.parse(ranFirst.startedAt)).toBeGreaterThanOrEqual(opensAt);
    expect(Date.parse(ranSecond.startedAt)).toBeGreaterThanOrEqual(Date.parse(ranFirst.finishedAt));
    expect((await service.inject('/v1/maintenance')).json().items).toEqual([]);
    // The window opened within the notice period: the second notice went too, once.
    await waitFor('the second notice', async () => (await notices(first.id)).some((e) => e.payload.notice === 'upcoming'), 300, 250);
    expect((await notices(first.id)).filter((e) => e.payload.notice === 'upcoming')).toHaveLength(1);
  });

  it('refuses a bypass without a reason, runs one with a reason at once, and audits the reason', async () => {
    expect((await setWindows({ windows: [NEW_YEAR], noticeHours: 48 })).json()).toMatchObject({ open: false, noticeHours: 48 });
    const before = await operationCount();
    for (const bypassWindow of [{}, { reason: '' }, { reason: '   ' }]) {
      const refused = await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'update', bypassWindow } });
      expect(refused.statusCode, refused.body).toBe(400);
      expect(refused.json()).toMatchObject({ code: 'bypass_reason_required', field: 'bypassWindow.reason' });
    }
    // An admin key without a second factor, and a deployer, may not bypass.
    const keyOnly = await service.app.inject({
      method: 'POST', url: '/v1/environments/development/operations', headers: bearer(service.adminKey), payload: { type: 'update', bypassWindow: { reason: 'hotfix' } },
    });
    expect(keyOnly.json().code).toBe('second_factor_required');
    const byDeployer = await deployer.request({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'update', bypassWindow: { reason: 'hotfix' } } });
    expect(byDeployer.json().code).toBe('forbidden');
    expect(await operationCount()).toBe(before);

    const bypass = await queue({ type: 'update', message: 'hotfix', bypassWindow: { reason: 'customer outage INC-42' } });
    expect(bypass).toMatchObject({ status: 'queued', notBefore: null, spec: { bypassWindow: { reason: 'customer outage INC-42' } } });
    expect((await finished(bypass.id)).status).toBe('succeeded');
    const audit = (await service.inject('/v1/audit?action=bypassMaintenanceWindow&limit=10')).json().items;
    expect(audit).toEqual([expect.objectContaining({ principal: 'bootstrap-admin', result: 'allowed', reason: 'customer outage INC-42', environment: 'development' })]);
  });

  it('schedules rollbacks too, sends the second notice once however many replicas sweep, and cancels a scheduled change', async () => {
    const rollback = await service.inject({ method: 'POST', url: '/v1/environments/development/rollbacks', payload: { release: 'previous' } });
    expect(rollback.statusCode, rollback.body).toBe(202);
    expect(rollback.json()).toMatchObject({ status: 'scheduled', spec: { rollback: expect.anything() } });
    const refused = await service.inject({ method: 'POST', url: '/v1/environments/development/rollbacks', payload: { release: 'previous', bypassWindow: {} } });
    expect(refused.json()).toMatchObject({ code: 'bypass_reason_required' });

    // 48 hours before its window opens, two replicas sweep at once: one notice preview is queued.
    const notBefore = Date.parse(rollback.json().notBefore);
    const upcoming = async () => (await service.inject('/v1/environments/development/operations?limit=100')).json().items
      .filter((o: { spec: { notice?: { operation: string; notice: string } } }) => o.spec.notice?.operation === rollback.json().id && o.spec.notice?.notice === 'upcoming');
    await Promise.all([service.calendar.sweep(notBefore - 47 * 3600_000), service.calendar.sweep(notBefore - 47 * 3600_000)]);
    expect(await upcoming()).toHaveLength(1);
    await waitFor('the upcoming notice', async () => (await notices(rollback.json().id)).some((e) => e.payload.notice === 'upcoming'), 300, 250);
    expect(await operation(rollback.json().id)).toMatchObject({ status: 'scheduled', startedAt: null });

    const cancelled = await service.inject({ method: 'POST', url: `/v1/operations/${rollback.json().id}/cancel` });
    expect(cancelled.statusCode, cancelled.body).toBe(202);
    expect(cancelled.json()).toMatchObject({ status: 'cancelled', notBefore: null });
    expect((await service.inject('/v1/maintenance')).json().items).toEqual([]);
  });

  it('announces what a scheduled destroy will delete, from a destroy that only previews', async () => {
    const destroy = await queue({ type: 'destroy' });
    expect(destroy).toMatchObject({ status: 'scheduled', startedAt: null });
    const [notice] = await waitFor('the destroy notice', async () => ((await notices(destroy.id)).length ? notices(destroy.id) : undefined), 300, 250);
    expect(notice).toMatchObject({ payload: { notice: 'scheduled', type: 'destroy', preview: { status: 'succeeded' } } });
    expect((notice!.payload.summary as Record<string, number>).delete).toBeGreaterThan(0);
    expect(await operation((notice!.payload.preview as { operationId: string }).operationId)).toMatchObject({ type: 'destroy_preview', requestedBy: 'system:maintenance-notice' });
    // Nothing was deleted: the stack still has its resources.
    expect((await service.inject('/v1/environments/development')).json().resourceCount).toBeGreaterThan(0);
    expect((await service.inject({ method: 'POST', url: `/v1/operations/${destroy.id}/cancel` })).json().status).toBe('cancelled');
  });
});
