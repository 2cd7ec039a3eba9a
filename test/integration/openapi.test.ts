// The committed spec is what the service serves: regenerate it with `npm run openapi`.
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoDir } from '../support/programs.js';
import { startTestService, type TestService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

describe('OpenAPI', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ database: 'sqlite' });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('serves the committed spec at /openapi.json', async () => {
    const served = (await service.inject({ url: '/openapi.json' })).json();
    const committed = JSON.parse(readFileSync(join(repoDir, 'openapi', 'openapi.json'), 'utf8'));
    expect(served, 'openapi/openapi.json is stale: run `npm run openapi`').toEqual(committed);
  });

  it('gives every operation an id and declares its error responses as problem+json', async () => {
    const spec = (await service.inject({ url: '/openapi.json' })).json();
    const operations = Object.values(spec.paths as Record<string, Record<string, any>>).flatMap((p) => Object.values(p));
    expect(operations.length).toBeGreaterThanOrEqual(10);
    for (const op of operations) {
      expect(op.operationId).toMatch(/^[a-z][A-Za-z]+$/);
      for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
        if (Number(status) >= 400 && op.operationId !== 'getReadiness') expect(Object.keys(response.content)).toEqual(['application/problem+json']);
      }
    }
  });

  it('serves Swagger UI at /docs', async () => {
    const response = await service.inject({ url: '/docs/' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('swagger');
  });

  it('reports readiness of the database, toolchain and state backend', async () => {
    const response = await service.inject({ url: '/readyz' });
    expect(response.json()).toEqual({ status: 'ready', checks: { database: true, toolchain: true, stateBackend: true } });
    expect((await service.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
  });

  it('reports a file:// state backend unavailable while its folder is gone, and ready once it is back', async () => {
    const folder = fileURLToPath(service.program.backendUrl);
    const readiness = async () => (await service.inject({ url: '/readyz' })).json().checks.stateBackend as boolean;
    renameSync(folder, `${folder}.away`);
    try {
      await waitFor('the state backend to be reported unavailable', async () => !(await readiness()), 15); // checked every 5 s, in the background
    } finally {
      renameSync(`${folder}.away`, folder);
    }
    await waitFor('the state backend to be reported ready again', readiness, 15);
  });
});
