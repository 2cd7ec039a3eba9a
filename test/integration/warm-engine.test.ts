// The warm path (Node's compile cache for the engine's programs, STACKPILOT_ENGINE_COMPILE_CACHE)
// changes how fast a program starts, never what an operation does: the same operations give the
// same results warm and cold, and when it is on, the cache is filled by the first run and its
// entries are read, not written again, by the next.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { parseSse } from '../support/sse.js';

const CACHE = 'node-compile-cache';

/** Every cache entry, by path, with its modification time. */
function entries(dataDir: string): Map<string, number> {
  const root = join(dataDir, CACHE);
  const found = new Map<string, number>();
  for (const name of readdirSync(root, { recursive: true }).map(String)) {
    const stat = statSync(join(root, name));
    if (stat.isFile()) found.set(name, stat.mtimeMs);
  }
  return found;
}

/** What an operation did, without what differs between any two runs (ids, times). */
async function outcome(service: TestService, type: string, payload: object = {}) {
  const created = await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type, ...payload } });
  expect(created.statusCode).toBe(202);
  const { id } = created.json();
  const done = (await service.inject({ url: `/v1/operations/${id}?wait=60` })).json();
  expect(done.status, done.error).toBe('succeeded');
  const events = parseSse((await service.inject({ url: `/v1/operations/${id}/events` })).body);
  const steps = events.filter((e) => e.event === 'resourcePre' || e.event === 'resOutputs')
    .map((e) => JSON.parse(e.data) as { metadata?: { op: string; urn: string } })
    .map((e) => `${e.metadata?.op} ${e.metadata?.urn}`)
    .sort(); // the engine steps independent resources in parallel: in no fixed order
  return { summary: done.summary, outputs: done.outputs, resourceCount: done.resourceCount, steps };
}

/**
 * An update that creates, a preview with no change, and an update that changes an output;
 * `afterFirst` looks at the service between the first operation and the others.
 */
async function sequence(service: TestService, afterFirst: () => void = () => undefined) {
  const first = await outcome(service, 'update');
  afterFirst();
  return [first, await outcome(service, 'preview'), await outcome(service, 'update', { config: { set: { infraGeneration: '2' } } })];
}

describe('the warm engine path', () => {
  const services: TestService[] = [];
  afterEach(async () => {
    for (const service of services.splice(0)) await service.close();
  });

  it('gives every operation the same result as a cold run, and reuses the cache it fills', async () => {
    const warm = await startTestService({ database: 'sqlite' });
    services.push(warm);
    expect(warm.config.engineCompileCache).toBe(true); // the default
    let filled = new Map<string, number>();
    const warmResults = await sequence(warm, () => {
      filled = entries(warm.config.dataDir);
    });
    // @pulumi/pulumi and its dependencies: hundreds of modules, compiled once by the first run.
    expect(filled.size).toBeGreaterThan(100);
    const after = entries(warm.config.dataDir);
    // What the first run compiled was read by the next ones, not compiled and written again.
    const rewritten = [...filled].filter(([name, mtime]) => after.get(name) !== mtime);
    expect(rewritten.length).toBeLessThan(filled.size / 10);
    // Entries are kept per file path: a program read from a path of its own per operation would
    // add entries with every run, and the cache would grow without end.
    expect([...after.keys()].filter((name) => !filled.has(name))).toEqual([]);

    const cold = await startTestService({ database: 'sqlite', config: { engineCompileCache: false } });
    services.push(cold);
    const coldResults = await sequence(cold);
    expect(() => entries(cold.config.dataDir)).toThrow(/ENOENT/); // nothing was cached

    expect(warmResults).toEqual(coldResults);
    expect(coldResults[2]!.outputs).toMatchObject({ infraGeneration: '2' });
    expect(coldResults[1]!.summary).toEqual({ same: 5 });
  });
});
