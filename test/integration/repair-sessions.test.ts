// Repair sessions with the real engine, on each database: the queue stays shut while one is
// open, each step runs one real CLI command and is audited, a restore of someone else waits,
// and closing (or idling out) lets the queue go on. The pending create a killed engine leaves
// in the state is written into its checkpoint here (the fixture's resources are components,
// which no provider creates), as the engine writes one before it calls the provider.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../support/databases.js';
import { person, settled, type Person } from '../support/releases.js';
import { startTestService, type TestService } from '../support/service.js';

const IDLE_SECONDS = 10;

describe.each(DATABASES)('repair sessions on %s', (database) => {
  let service: TestService;
  let other: Person;

  beforeAll(async () => {
    service = await startTestService({ database, config: { repairIdleSeconds: IDLE_SECONDS } });
    other = await person(service, 'other-admin', [{ role: 'admin', environments: ['development'] }], true);
  });
  afterAll(async () => {
    await service?.close();
  });

  const repairs = '/v1/environments/development/repairs';
  const step = (payload: object, as?: Person) => (as ? as.request({ method: 'POST', url: `${repairs}/current/steps`, payload })
    : service.inject({ method: 'POST', url: `${repairs}/current/steps`, payload }));
  const status = async (id: string) => (await service.inject({ url: `/v1/operations/${id}` })).json().status as string;
  const markerUrn = 'urn:pulumi:development::fixture-project::stackpilot:scope:Workloads$stackpilot:scope:WorkloadsMarker::workloads-marker';

  it('shuts the queue, repairs a pending create and the state step by step, and lets the queue go on', async () => {
    const first = await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'update' } });
    expect((await settled(service, first.json().id)).status).toBe('succeeded');
    const { items: [backup] } = (await service.inject({ url: '/v1/environments/development/backups' })).json();

    // What a CLI killed while creating a resource leaves behind: a pending create in the
    // checkpoint it last wrote (`pulumi stack import` would drop it, so it goes into the file).
    const checkpointFile = join(new URL(service.program.backendUrl).pathname, '.pulumi', 'stacks', 'fixture-project', 'development.json');
    const checkpoint = JSON.parse(readFileSync(checkpointFile, 'utf8'));
    const stack = checkpoint.checkpoint.latest.resources.find((r: { type: string }) => r.type === 'pulumi:pulumi:Stack');
    checkpoint.checkpoint.latest.pending_operations = [{
      resource: { urn: 'urn:pulumi:development::fixture-project::stackpilot:test:Thing::half-made', custom: true, type: 'stackpilot:test:Thing', parent: stack.urn },
      type: 'creating',
    }];
    writeFileSync(checkpointFile, JSON.stringify(checkpoint));
    expect(await service.engine.pendingOperations('development')).toHaveLength(1);

    const opened = await service.inject({ method: 'POST', url: repairs, payload: { reason: 'a killed engine left a pending create' } });
    expect(opened.statusCode, opened.body).toBe(201);
    expect(opened.json()).toMatchObject({ environment: 'development', reason: 'a killed engine left a pending create', closedAt: null });
    const session = (await service.inject({ url: '/v1/environments/development/backups' })).json().items[0];
    expect(session).toMatchObject({ reason: 'before_repair', id: opened.json().backupId });
    expect(session.id).not.toBe(backup.id);
    expect((await service.inject({ method: 'POST', url: repairs, payload: { reason: 'again' } })).json().code).toBe('repair_session_open');

    // New operations stay queued; someone else's restore is refused; someone else's step too.
    const waiting = await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'update' } });
    await sleep(1500);
    expect(await status(waiting.json().id)).toBe('queued');
    const restore = await other.request({ method: 'POST', url: '/v1/environments/development/restores', payload: { backup: backup.id } });
    expect(restore.statusCode).toBe(409);
    expect(restore.json().code).toBe('repair_session_open');
    expect((await step({ step: 'refresh' }, other)).json().code).toBe('repair_session_of_another');
    const noUrn = await step({ step: 'state-delete' });
    expect(noUrn.statusCode).toBe(400);
    expect(noUrn.json()).toMatchObject({ code: 'urn_required', field: 'urn' });
    expect((await step({ step: 'explode' })).statusCode).toBe(400);

    expect((await step({ step: 'clear-pending', pendingCreates: 'import' })).json()).toMatchObject({ code: 'id_required', field: 'id' });
    // The CLI takes each URN and ID as a flag of its own (given as one flag with two values, it
    // refused the ID as an argument).
    const imported = await step({ step: 'clear-pending', pendingCreates: 'import', imports: [{ urn: 'urn:pulumi:development::fixture-project::stackpilot:test:Thing::half-made', id: 'half-made-1' }] });
    expect(imported.statusCode, imported.body).toBe(200);
    const cleared = await step({ step: 'clear-pending', pendingCreates: 'clear' });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json().step).toBe('clear-pending');
    expect(await service.engine.pendingOperations('development')).toEqual([]);
    const unlocked = await step({ step: 'unlock' });
    expect(unlocked.json()).toEqual({ step: 'unlock', output: 'the stack holds no lock' });
    expect((await step({ step: 'state-unprotect', urn: markerUrn })).statusCode).toBe(200);
    const deleted = await step({ step: 'state-delete', urn: markerUrn });
    expect(deleted.statusCode, deleted.body).toBe(200);
    const urns = JSON.parse(await service.engine.exportState('development')).deployment.resources.map((r: { urn: string }) => r.urn);
    expect(urns).not.toContain(markerUrn);
    const missing = await step({ step: 'state-delete', urn: markerUrn });
    expect(missing.statusCode).toBe(422);
    expect(missing.json().code).toBe('repair_step_failed');
    expect((await step({ step: 'state-repair' })).statusCode).toBe(200);
    expect(await status(waiting.json().id)).toBe('queued');

    expect((await service.inject({ method: 'DELETE', url: `${repairs}/current` })).statusCode).toBe(204);
    const next = await settled(service, waiting.json().id);
    expect(next.status, next.error).toBe('succeeded');
    expect(JSON.parse(await service.engine.exportState('development')).deployment.resources.map((r: { urn: string }) => r.urn)).toContain(markerUrn);

    // A closed session takes no steps and closes once.
    expect((await step({ step: 'refresh' })).json().code).toBe('repair_session_closed');
    expect((await service.inject({ method: 'DELETE', url: `${repairs}/current` })).json().code).toBe('repair_session_closed');
    const audit = (await service.inject({ url: '/v1/audit?limit=100' })).json().items as Array<{ action: string; result: string; principal: string }>;
    const actions = audit.filter((r) => r.action.startsWith('repair:') || r.action.endsWith('RepairSession')).map((r) => `${r.action}:${r.result}`);
    expect(actions).toEqual(expect.arrayContaining(['openRepairSession:allowed', 'repair:clear-pending:allowed', 'repair:state-delete:allowed',
      'repair:state-delete:failed', 'closeRepairSession:allowed']));
  });

  it('refuses to open while an operation holds the stack, and expires when idle', async () => {
    const slow = await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'update', config: { set: { sleepMs: '4000' } } } });
    while (await status(slow.json().id) === 'queued') await sleep(100);
    const busy = await service.inject({ method: 'POST', url: repairs, payload: { reason: 'now' } });
    expect(busy.statusCode).toBe(409);
    expect(busy.json().code).toBe('environment_busy');
    expect((await settled(service, slow.json().id)).status).toBe('succeeded');

    expect((await service.inject({ method: 'POST', url: repairs, payload: { reason: 'left open' } })).statusCode).toBe(201);
    const preview = await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'preview' } });
    await sleep(1000);
    expect(await status(preview.json().id)).toBe('queued');
    // Nobody uses the session: it idles out and the queue goes on.
    expect((await settled(service, preview.json().id)).status).toBe('succeeded');
    expect((await service.inject({ url: `${repairs}/current` })).json().code).toBe('repair_session_closed');
    const finished = await service.database.db.selectFrom('repair_sessions').select(['closed_by']).where('reason', '=', 'left open').executeTakeFirst();
    expect(finished?.closed_by).toBe('expired');
  });
});
