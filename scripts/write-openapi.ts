// `npm run openapi`: writes openapi/openapi.json from the route schemas. The routes are only
// registered, never called, so no service behind them is needed; a test compares this file
// with what the running service serves at /openapi.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp, type AppServices } from '../src/http/app.js';
import { createLogger } from '../src/logger.js';

export async function generateSpec(): Promise<unknown> {
  const app = await buildApp({ rateLimit: { max: 1, maxPerSource: 1, windowSeconds: 60 }, releases: {}, recovery: {} } as AppServices, createLogger('silent'));
  await app.ready();
  const spec = app.swagger();
  await app.close();
  return spec;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = join(import.meta.dirname, '..', 'openapi', 'openapi.json');
  writeFileSync(file, `${JSON.stringify(await generateSpec(), null, 2)}\n`);
  console.log(`wrote ${file}`);
}
