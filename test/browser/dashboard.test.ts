// The dashboard in a real browser (Debian's chromium, headless) against the real service and
// engine: sign in, watch a preview live (the progress bar moves before the end, and a dropped
// connection loses no event), update and roll back, a second person approves a protected
// environment's plan, a viewer sees no button that changes anything and the API refuses them
// anyway, a cross-site form post is refused, and every view passes axe-core. Screenshots of
// each view land in test-results/dashboard/. One database is enough here: the dashboard only
// calls the API, which the API tests run on both.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityViolations, launchChromium, screenshot, tabStops } from '../support/browser.js';
import { totpCode } from '../support/credentials.js';
import { person, settled, type Person } from '../support/releases.js';
import { startTestService, type TestService } from '../support/service.js';

describe('the dashboard in Chromium', () => {
  let service: TestService;
  let browser: Browser;
  let base: string;
  let dana: Person; // deployer on development, testing, staging
  let alice: Person; // approver on staging
  let victor: Person; // viewer of everything
  const contexts: BrowserContext[] = [];
  const cspViolations: string[] = [];

  beforeAll(async () => {
    service = await startTestService({ database: 'sqlite', config: { protectedEnvironments: ['staging'], approvalTtlSeconds: 3600 } });
    base = (await service.app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1');
    dana = await person(service, 'dana', [{ role: 'deployer', environments: ['development', 'testing', 'staging'] }]);
    alice = await person(service, 'alice', [{ role: 'approver', environments: ['staging'] }]);
    victor = await person(service, 'victor', [{ role: 'viewer', environments: '*' }]);
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  /** A fresh browser profile signed in with this key (and code); CSP reports are collected. */
  async function signIn(key: string, code?: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (message) => { if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text()); });
    await page.goto(`${base}/`);
    await page.getByLabel('API key').fill(key);
    if (code) await page.getByLabel(/One-time code/).fill(code);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Environments' }).waitFor();
    return page;
  }

  async function view(page: Page, hash: string, heading: string | RegExp): Promise<void> {
    await page.goto(`${base}/#/${hash}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  }

  /** Screenshot, then axe-core: no violation of WCAG 2.1 A/AA (contrast and labels included). */
  async function check(page: Page, name: string): Promise<void> {
    await screenshot(page, name);
    expect(await accessibilityViolations(page), `${name}: accessibility`).toEqual([]);
  }

  const changeConfig = async (env: string, set: Record<string, string>) => {
    const latest = await service.inject({ url: `/v1/environments/${env}/config` });
    const changed = await service.inject({ method: 'PATCH', url: `/v1/environments/${env}/config`, headers: { 'if-match': latest.headers.etag as string }, payload: { set } });
    expect(changed.statusCode, changed.body).toBe(201);
  };

  /** Clicks a button that queues an operation, and follows the page to it. */
  async function queueFrom(page: Page, button: string | RegExp): Promise<string> {
    await page.getByRole('button', { name: button }).first().click();
    await page.waitForURL(/#\/operations\//);
    return decodeURIComponent(new URL(page.url()).hash.split('/')[2]!);
  }

  const statusOf = (page: Page) => page.getByTestId('op-status').textContent();

  it('signs in with an API key: the cookie holds a session, not the key, and is HttpOnly and SameSite=Strict', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.getByLabel('API key').waitFor();
    await check(page, '01-sign-in');
    expect((await tabStops(page, 3)).map((stop) => stop.split(':')[0])).toEqual(['input', 'input', 'button']);

    // Opening the page signed out, more often than the lockout allows failures, is no failure.
    for (let i = 0; i < service.config.lockoutMaxFailures + 1; i++) await page.reload();
    await page.getByLabel('API key').waitFor();

    // A wrong key is said in words.
    await page.getByLabel('API key').fill('sp_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const refusal = await page.getByRole('alert').textContent();
    expect(refusal).toMatch(/^That key or code was not accepted/);
    expect(refusal).not.toMatch(/[{}]/);

    const signed = await signIn(dana.token);
    const [cookie, ...others] = await signed.context().cookies();
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({ name: 'stackpilot_session', httpOnly: true, sameSite: 'Strict', secure: false });
    expect(cookie!.value).toMatch(/^sps_/);
    expect(cookie!.value).not.toContain(dana.token.slice(3, 15));
    expect(await signed.evaluate(() => document.cookie)).toBe('');
    // The session is the API's own: it ends at the configured idle timeout, like any other.
    expect((await service.app.inject({ url: '/v1/dashboard/session', headers: { cookie: `stackpilot_session=${cookie!.value}` } })).json())
      .toMatchObject({ principal: 'dana', secondFactor: false });
  });

  it('shows the environments, reachable by keyboard', async () => {
    const page = await signIn(dana.token);
    await page.locator('tr[data-environment="development"]').waitFor();
    // Production is not among dana's grants: it is not listed at all.
    expect(await page.locator('tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-environment')))).toEqual(['development', 'testing', 'staging']);
    await check(page, '02-overview');
    const stops = await tabStops(page, 8);
    expect(stops).toEqual(expect.arrayContaining(['a:Environments', 'a:Pipeline', 'a:Approvals', 'a:development']));
    // No audit link for a deployer; the audit page itself says in words that it is refused.
    expect(await page.getByRole('link', { name: 'Audit trail' }).count()).toBe(0);
    await view(page, 'audit', 'Audit trail');
    const refusal = await page.getByRole('alert').textContent();
    expect(refusal).toMatch(/^You are not allowed to do this/);
    expect(refusal).not.toMatch(/[{}]/);
  });

  it('runs a preview of development and shows its events live: the bar moves before the end, and a dropped connection loses nothing', async () => {
    // A quick preview first: the bar's total is the last preview's.
    await changeConfig('development', { markers: '10' });
    const first = await dana.request({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'preview' } });
    expect((await settled(service, first.json().id)).summary).toEqual({ create: 15 });
    // Now each layer waits 2 s and the 10 markers come 300 ms apart: a run of several seconds.
    await changeConfig('development', { sleepMs: '2000', markerDelayMs: '300' });
    const page = await signIn(dana.token);
    await view(page, 'environments/development', 'development');
    await check(page, '03-environment');
    const id = await queueFrom(page, 'Preview');

    const samples: Array<{ done: number; max: number; status: string; events: number }> = [];
    let dropped = false;
    for (;;) {
      const progress = page.locator('#progress');
      const sample = {
        done: Number(await progress.getAttribute('data-done')),
        max: Number(await progress.getAttribute('data-max')),
        status: (await statusOf(page)) ?? '',
        events: Number((await page.getByTestId('event-count').textContent())?.split(' ')[0]),
      };
      samples.push(sample);
      // Once events flow, every connection the service holds is cut: the page must reconnect
      // with Last-Event-ID and carry on.
      if (!dropped && sample.events >= 3 && sample.status === 'running') {
        service.app.server.closeAllConnections();
        dropped = true;
      }
      if (['succeeded', 'failed'].includes(sample.status) && sample.done === sample.max) break;
      await page.waitForTimeout(100);
    }
    expect(samples.at(-1)!.status).toBe('succeeded');
    expect(dropped).toBe(true);
    expect(samples.filter((s) => s.max > 0).every((s) => s.max === 15), JSON.stringify(samples)).toBe(true);
    const moving = samples.filter((s) => s.status === 'running' && s.done > 0 && s.done < s.max);
    expect(moving.length, JSON.stringify(samples)).toBeGreaterThan(0);
    expect(new Set(samples.filter((s) => s.status === 'running').map((s) => s.events)).size).toBeGreaterThan(2);

    // The page asked for the stream again after the cut, from where it was (Last-Event-ID).
    const streamRequests = service.logs.filter((line) => line.includes('incoming request') && line.includes(`/v1/operations/${id}/events`));
    expect(streamRequests.length).toBeGreaterThanOrEqual(2);
    // Every stored event reached the page once, the result last.
    const stored = await service.repositories.eventLog.events(id, 0, 10_000);
    const counter = page.getByTestId('event-count');
    await expect.poll(async () => Number((await counter.textContent())?.split(' ')[0]), { timeout: 10_000 }).toBe(stored.length);
    expect(Number(await counter.getAttribute('data-last-event'))).toBe(stored.at(-1)!.sequence);
    expect(await page.locator('tr[data-resource="marker-9"]').count()).toBe(1);
    expect(await page.locator('tr[data-resource="marker-9"] .step').textContent()).toBe('create');
    await expect.poll(() => page.locator('pre.log').textContent(), { timeout: 10_000 }).toMatch(/Previewing update|preview/i);
    await check(page, '04-operation');
  });

  it('updates development twice and rolls back to the first release', async () => {
    await changeConfig('development', { sleepMs: '0', markers: '0', workloadGeneration: 'g1' });
    const page = await signIn(dana.token);
    for (const generation of ['g1', 'g2']) {
      if (generation === 'g2') await changeConfig('development', { workloadGeneration: 'g2' });
      await view(page, 'environments/development', 'development');
      const id = await queueFrom(page, 'Update');
      expect((await settled(service, id)).status).toBe('succeeded');
    }
    await view(page, 'environments/development/releases', /Releases of/);
    await page.locator('tr[data-release="2"]').waitFor();
    await check(page, '05-releases');
    const id = await queueFrom(page, 'Roll back to #1');
    expect((await settled(service, id)).status).toBe('succeeded');
    await expect.poll(() => statusOf(page), { timeout: 10_000 }).toBe('succeeded');
    const env = (await service.inject({ url: '/v1/environments/development' })).json();
    expect(env.outputs.workloadGeneration).toBe('g1');

    // Each change of the stack left a state backup, which its page lists.
    await view(page, 'environments/development', 'development');
    await page.locator('tr[data-backup]').first().waitFor();

    await view(page, 'environments/development/config', /Configuration of/);
    await page.locator('table.diff').waitFor();
    await check(page, '06-config-versions');
    await view(page, 'durations', 'Operation durations');
    await page.locator('svg.chart').first().waitFor();
    expect(await page.locator('svg.chart rect').count()).toBeGreaterThanOrEqual(3); // this test's two updates and its rollback, at least
    await check(page, '07-durations');
  });

  it('promotes development into testing from the pipeline', async () => {
    const page = await signIn(dana.token);
    await view(page, 'pipeline', 'Pipeline');
    await page.getByRole('button', { name: 'Promote to testing' }).waitFor();
    await check(page, '08-pipeline');
    const id = await queueFrom(page, 'Promote to testing');
    expect((await settled(service, id)).status).toBe('succeeded');
  });

  it('lets a second person approve an update of a protected environment; a viewer sees no button that changes anything, and the API refuses them', async () => {
    const requester = await signIn(dana.token);
    await view(requester, 'environments/staging', 'staging');
    const id = await queueFrom(requester, 'Update');
    await expect.poll(() => statusOf(requester), { timeout: 60_000 }).toBe('awaiting approval');
    // The requester cannot approve their own change: no button, and a sentence saying why.
    await requester.getByText('You requested this change').waitFor();

    const viewer = await signIn(victor.token);
    // Each view once its data is shown (an empty page has no buttons either).
    for (const [hash, heading, shown] of [['', 'Environments', 'tr[data-environment]'], ['environments/development', 'development', 'tbody tr'],
      ['environments/development/releases', /Releases of/, 'tr[data-release]'], ['pipeline', 'Pipeline', '.stage'],
      ['approvals', 'Approvals', '[data-approval="staging"]'], [`operations/${id}`, /update of/, '.decision']] as const) {
      await view(viewer, hash, heading);
      await viewer.locator(shown).first().waitFor();
      expect(await viewer.locator('main button').count(), `a viewer's ${hash || 'overview'}`).toBe(0);
    }
    await view(viewer, 'approvals', 'Approvals');
    await viewer.locator('[data-approval="staging"] td').first().waitFor();
    await check(viewer, '09-approvals-viewer');
    // The page bypassed: the viewer's own session, CSRF token and all, is refused by the API.
    const bypass = await viewer.evaluate(async (operation) => {
      const who = await (await fetch('/v1/dashboard/session')).json();
      const post = (url: string, body: object) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': who.csrfToken }, body: JSON.stringify(body) })
        .then(async (r) => [r.status, (await r.json()).code]);
      return Promise.all([
        post('/v1/environments/development/operations', { type: 'update' }),
        post('/v1/environments/development/rollbacks', { release: 'previous' }),
        post(`/v1/operations/${operation}/approve`, {}),
        post(`/v1/operations/${operation}/cancel`, {}),
      ]);
    }, id);
    expect(bypass).toEqual([[403, 'forbidden'], [403, 'forbidden'], [403, 'forbidden'], [403, 'forbidden']]);

    const approver = await signIn(alice.token);
    await view(approver, 'approvals', 'Approvals');
    const card = approver.locator('[data-approval="staging"]');
    await card.getByRole('cell', { name: 'create' }).first().waitFor();
    await check(approver, '10-approvals');
    await card.getByLabel('Comment').fill('looks right');
    await card.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(async () => (await service.inject({ url: `/v1/operations/${id}` })).json().status, { timeout: 10_000 }).not.toBe('awaiting_approval');
    const done = await settled(service, id);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    expect(done.plan.approvals).toMatchObject([{ principal: 'alice', decision: 'approve', comment: 'looks right' }]);
  });

  it('shows the audit trail to an admin signed in with a second factor', async () => {
    const page = await signIn(service.adminKey, totpCode(service.totpSecret, Date.now() + 30_000));
    await page.getByRole('link', { name: 'Audit trail' }).click();
    await page.getByRole('cell', { name: 'createOperation' }).first().waitFor();
    await check(page, '11-audit');
  });

  it('refuses a cross-site form post, and a same-site change without the CSRF token', async () => {
    const page = await signIn(dana.token);
    const count = async () => (await service.inject({ url: '/v1/environments/development/operations?limit=100' })).json().items.length;
    const before = await count();
    // Another site (localhost is not the same site as 127.0.0.1) posts a form at the service.
    const target = `${base}/v1/environments/development/operations`;
    const attacker: Server = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html');
      response.end(`<form method="POST" action="${target}" enctype="text/plain"><input name='{"type":"update","x":"' value='"}'></form><script>document.forms[0].submit()</script>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    try {
      const answer = page.waitForResponse(target);
      await page.goto(`http://localhost:${(attacker.address() as AddressInfo).port}/`);
      expect([401, 403]).toContain((await answer).status());
    } finally {
      attacker.close();
    }
    // The same cookie sent without the token (what a same-site page could do) is refused too.
    const forged = await page.context().request.post(target, { data: { type: 'update' } });
    expect(forged.status()).toBe(403);
    expect((await forged.json()).code).toBe('csrf_token_invalid');
    expect(await count()).toBe(before);
  });

  it('ends a session left idle past the configured timeout: the page asks to sign in again, and the browser forgets the cookie', async () => {
    const page = await signIn(dana.token);
    const [cookie] = await page.context().cookies();
    // As if STACKPILOT_SESSION_IDLE_SECONDS had passed since its last use.
    const idle = Date.now() - service.config.sessionIdleSeconds * 1000 - 1000;
    await service.database.db.updateTable('sessions').set({ last_seen_at: idle }).where('principal', '=', 'dana').execute();
    await page.reload();
    await page.getByLabel('API key').waitFor();
    expect(await page.context().cookies()).toEqual([]);
    const refused = await service.app.inject({ url: '/v1/environments', headers: { cookie: `stackpilot_session=${cookie!.value}` } });
    expect(refused.json()).toMatchObject({ status: 401, code: 'session_idle' });
  });

  it('sends a strict Content Security Policy, refuses framing, and /docs still works under it', async () => {
    const response = await fetch(`${base}/`);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const docs = await (await browser.newContext()).newPage();
    docs.on('console', (message) => { if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(`/docs: ${message.text()}`); });
    await docs.goto(`${base}/docs`);
    await docs.locator('.swagger-ui .info .title').waitFor();
    expect(cspViolations).toEqual([]);
  });
});
