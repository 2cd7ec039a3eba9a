// Drift checks with the real engine, on each database. The fixture reads the testing stack's
// outputs through a StackReference (`driftRef`), a resource the engine's own provider reads on
// refresh: changing testing changes what really is behind development's state, which is the
// drift a check must name, and a remediation (an update with --refresh) must correct.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { settled } from '../support/releases.js';
import { startTestService, type TestService } from '../support/service.js';

describe.each(DATABASES)('drift checks on %s', (database) => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ database });
  });
  afterAll(async () => {
    await service?.close();
  });

  const update = async (env: string, set: Record<string, string>) => {
    const response = await service.inject({ method: 'POST', url: `/v1/environments/${env}/operations`, payload: { type: 'update', config: { set } } });
    const done = await settled(service, response.json().id);
    expect(done.status, done.error).toBe('succeeded');
    return done;
  };
  const check = async () => {
    const response = await service.inject({ method: 'POST', url: '/v1/environments/development/drift-checks' });
    expect(response.statusCode, response.body).toBe(202);
    expect(response.json().type).toBe('drift_check');
    const done = await settled(service, response.json().id);
    expect(done.status, done.error).toBe('succeeded');
    return done;
  };
  const drift = async () => (await service.inject({ url: '/v1/environments/development/drift' })).json();
  const backupCount = async () => (await service.inject({ url: '/v1/environments/development/backups?limit=100' })).json().items.length;

  it('finds nothing while the stack is as its state says, and changes nothing', async () => {
    await update('testing', { infraGeneration: 't1' });
    await update('development', { driftRef: 'testing' });
    const backups = await backupCount();
    const done = await check();
    expect(await drift()).toMatchObject({ drift: { status: 'in_sync', operationId: done.id, resources: [] }, schedule: null });
    expect((await service.inject({ url: '/v1/environments/development' })).json().drift).toMatchObject({ status: 'in_sync' });
    // Read-only: no backup follows it.
    expect(await backupCount()).toBe(backups);
  });

  it('names the resource that changed behind the engine, and announces it', async () => {
    await update('testing', { infraGeneration: 't2' });
    const done = await check();
    const { drift: found } = await drift();
    expect(found.status).toBe('drifted');
    expect(found.operationId).toBe(done.id);
    expect(found.resources).toEqual([expect.objectContaining({ type: 'pulumi:pulumi:StackReference', urn: expect.stringContaining('testing') })]);
    const events = (await service.repositories.outbox.after(0, 10_000)).filter((e) => e.kind === 'drift.detected');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ environment: 'development', operationId: done.id, payload: { remediation: null } });
  });

  it('refuses an invalid cron expression and writes nothing', async () => {
    for (const cron of ['not a cron', '61 * * * *', '* * * * * * * *']) {
      const response = await service.inject({ method: 'PUT', url: '/v1/environments/development/drift-schedule', payload: { cron } });
      expect(response.statusCode, cron).toBe(400);
      expect(response.json()).toMatchObject({ code: 'invalid_cron', field: 'cron' });
    }
    expect((await service.inject({ method: 'PUT', url: '/v1/environments/development/drift-schedule', payload: { cron: '0 0 1 1 *', other: 1 } })).statusCode).toBe(400);
    expect((await drift()).schedule).toBeNull();
    expect((await service.inject({ method: 'DELETE', url: '/v1/environments/development/drift-schedule' })).json().code).toBe('drift_schedule_not_found');
  });

  it('queues a due check once however many replicas sweep, and remediates the drift it finds', async () => {
    const scheduled = await service.inject({ method: 'PUT', url: '/v1/environments/development/drift-schedule', payload: { cron: '0 0 1 1 *', remediate: true } });
    expect(scheduled.statusCode, scheduled.body).toBe(200);
    expect(scheduled.json()).toMatchObject({ cron: '0 0 1 1 *', remediate: true });
    expect(new Date(scheduled.json().nextDueAt).getTime()).toBeGreaterThan(Date.now());
    // Two replicas sweep at once, a year on: one of them queues the check.
    const later = new Date(scheduled.json().nextDueAt).getTime() + 1000;
    const swept = (await Promise.all([service.recovery.drift.sweep(later), service.recovery.drift.sweep(later)])).flat();
    expect(swept).toHaveLength(1);
    expect(swept[0]).toMatchObject({ type: 'drift_check', requestedBy: 'system:drift-schedule' });
    expect(new Date((await drift()).schedule.nextDueAt).getTime()).toBeGreaterThan(later);

    const checked = await settled(service, swept[0]!.id);
    expect(checked.status, checked.error).toBe('succeeded');
    const event = (await service.repositories.outbox.after(0, 10_000)).filter((e) => e.kind === 'drift.detected').at(-1)!;
    expect(event.operationId).toBe(checked.id);
    const remediation = await settled(service, String(event.payload.remediation));
    expect(remediation).toMatchObject({ type: 'update', status: 'succeeded', spec: { refresh: true, remediates: checked.id } });
    expect(remediation.outputs).toMatchObject({ referenced: 't2' });
    await check();
    expect((await drift()).drift.status).toBe('in_sync');
    expect((await service.inject({ method: 'DELETE', url: '/v1/environments/development/drift-schedule' })).statusCode).toBe(204);
  });
});
