// Benchmark rows 7 and 8: the dashboard's overview in headless Chromium (Debian's) with 1,000
// operations in history: its first contentful paint and when the environments table is shown,
// medians over the rounds, each in a fresh browser profile (nothing cached); and the page's
// total weight as sent with gzip: the page, its script and style, and the API answers the
// overview loads.
import { request } from 'node:http';
import { launchChromium } from '../test/support/browser.js';
import { median } from './measure.js';

/** Bytes on the wire for one GET with Accept-Encoding: gzip. */
function gzipBytes(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { 'accept-encoding': 'gzip', ...headers } }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () => (response.statusCode === 200 ? resolve(bytes) : reject(new Error(`${url}: ${response.statusCode}`))));
    }).on('error', reject).end();
  });
}

export async function overviewInChromium(url: string, key: string, rounds: number) {
  const signIn = await fetch(`${url}/v1/dashboard/session`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{}' });
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
  const [name, value] = [cookie.slice(0, cookie.indexOf('=')), cookie.slice(cookie.indexOf('=') + 1)];

  const page = await (await fetch(`${url}/`)).text();
  const assets = [...page.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  let weight = 0;
  for (const path of ['/', ...assets, '/v1/dashboard/session', '/v1/environments']) weight += await gzipBytes(`${url}${path}`, { cookie });

  const browser = await launchChromium();
  const paints: number[] = [];
  const tables: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const context = await browser.newContext();
      await context.addCookies([{ name, value, url }]);
      const tab = await context.newPage();
      await tab.goto(`${url}/`);
      await tab.locator('tr[data-environment]').first().waitFor();
      tables.push(await tab.evaluate(() => performance.now()));
      paints.push(await tab.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN));
      await context.close();
    }
  } finally {
    await browser.close();
  }
  return { firstPaint: median(paints), table: median(tables), weight };
}
