// The warm paths (Node's compile cache for the engine's programs, STACKPILOT_ENGINE_COMPILE_CACHE;
// a resident language host per stack, STACKPILOT_ENGINE_RESIDENT_HOSTS) change how fast a program
// starts, never what an operation does: the same operations give the same results warm and cold.
// The compile cache is filled by the first run and its entries are read, not written again, by
// the next; the resident host runs every program, refuses a Run it was not announced, and is
// replaced after a failed run and when it dies between operations.
import { credentials } from '@grpc/grpc-js';
import languageGrpc from '@pulumi/pulumi/proto/language_grpc_pb.js';
import languagePb from '@pulumi/pulumi/proto/language_pb.js';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { residentHostsOf } from '../support/process.js';
import { startTestService, type TestService } from '../support/service.js';
import { parseSse } from '../support/sse.js';
import { waitFor } from '../support/wait.js';

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
async function outcome(service: TestService, type: string, payload: object = {}, status = 'succeeded') {
  const created = await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type, ...payload } });
  expect(created.statusCode).toBe(202);
  const { id } = created.json();
  const done = (await service.inject({ url: `/v1/operations/${id}?wait=60` })).json();
  expect(done.status, done.error).toBe(status);
  // A failure's message, to the end of its first stack frame (the program's): the frames under it
  // are the run script's in a cold run and the resident host's in a warm one.
  if (status !== 'succeeded') return { status, errorCode: done.errorCode, error: (done.error as string).split(' at ').slice(0, 2).join(' at '), summary: done.summary };
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

/** Program runs by language host, from the service's own metric. */
async function runsByHost(service: TestService): Promise<Record<string, number>> {
  const metric = await service.integrations.metrics.registry.getSingleMetric('stackpilot_engine_runs_total')!.get();
  return Object.fromEntries(metric.values.map((v) => [v.labels.language_host, v.value]));
}

/** This process's resident language hosts (the test services run in it). */
const residentHosts = () => residentHostsOf(process.pid);

/** A process's resident set, in MB. */
function rssMb(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

describe('the warm engine path', () => {
  const services: TestService[] = [];
  afterEach(async () => {
    for (const service of services.splice(0)) await service.close();
  });

  it('gives every operation the same result as a cold run, and reuses the cache it fills', async () => {
    // The compile cache alone: a resident host would load every module once and keep it.
    const warm = await startTestService({ database: 'sqlite', config: { engineResidentHosts: false } });
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

    const cold = await startTestService({ database: 'sqlite', config: { engineCompileCache: false, engineResidentHosts: false } });
    services.push(cold);
    const coldResults = await sequence(cold);
    expect(() => entries(cold.config.dataDir)).toThrow(/ENOENT/); // nothing was cached

    expect(warmResults).toEqual(coldResults);
    expect(coldResults[2]!.outputs).toMatchObject({ infraGeneration: '2' });
    expect(coldResults[1]!.summary).toEqual({ same: 5 });
  });

  it('runs every program of a stack in one resident host, with the results of cold runs, and replaces a host after a failed run', async () => {
    const resident = await startTestService({ database: 'sqlite' });
    services.push(resident);
    expect(resident.config.engineResidentHosts).toBe(true); // the default
    let host: number[] = [];
    const residentResults = await sequence(resident, () => {
      host = residentHosts();
    });
    expect(host).toHaveLength(1);
    expect(residentHosts()).toEqual(host); // the same process ran all three
    expect(await runsByHost(resident)).toEqual({ resident: 3, cold: 0 });

    // Anything else that reaches the host's socket is refused: it runs only what the service announced.
    const address = readFileSync(`/proc/${host[0]}/cmdline`, 'latin1').split('\0').filter(Boolean).at(-1)!;
    expect(address).toMatch(/^unix:\//);
    const client = new languageGrpc.LanguageRuntimeClient(address, credentials.createInsecure());
    const stray = new languagePb.RunRequest().setPwd(resident.program.dir).setProject('fixture-project').setStack('development').setMonitorAddress('127.0.0.1:1');
    const refused = await new Promise<languagePb.RunResponse>((resolve, reject) => client.run(stray, (error, response) => (error ? reject(error) : resolve(response!))));
    client.close();
    expect(refused.getError()).toMatch(/runs only the program Stackpilot started/);
    expect(residentHosts()).toEqual(host);

    // A program that fails: the same error as a cold run's, and the host that ran it is replaced.
    const failed = await outcome(resident, 'update', { config: { set: { failWith: 'resident-canary-failure' } } }, 'failed');
    expect(failed.error).toMatch(/Running program '<program>\/.*' failed with an unhandled exception: Error: resident-canary-failure at module\.exports .*index\.js:\d+:\d+/);
    await waitFor('the failed run\'s host to end', () => !existsSync(`/proc/${host[0]}`), 10);
    const recovered = await outcome(resident, 'update', { config: { set: { failWith: '' } } });
    const second = residentHosts();
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(host[0]);

    // A host that dies between operations is replaced by the next operation's.
    process.kill(second[0]!, 'SIGKILL');
    await waitFor('the killed host to be reaped', () => !existsSync(`/proc/${second[0]}`), 10);
    const afterKill = await outcome(resident, 'preview');
    expect(afterKill.summary).toEqual({ same: 5 });
    expect(residentHosts()).toHaveLength(1);
    expect(await runsByHost(resident)).toEqual({ resident: 6, cold: 0 });

    const cold = await startTestService({ database: 'sqlite', config: { engineCompileCache: false, engineResidentHosts: false } });
    services.push(cold);
    const coldResults = await sequence(cold);
    const coldFailed = await outcome(cold, 'update', { config: { set: { failWith: 'resident-canary-failure' } } }, 'failed');
    const coldRecovered = await outcome(cold, 'update', { config: { set: { failWith: '' } } });
    expect(await runsByHost(cold)).toEqual({ resident: 0, cold: 5 });

    expect(residentResults).toEqual(coldResults);
    expect(failed).toEqual(coldFailed);
    expect(recovered).toEqual(coldRecovered);
    expect(coldResults[2]!.outputs).toMatchObject({ infraGeneration: '2' });

    services.splice(services.indexOf(resident), 1);
    await resident.close();
    await waitFor('the hosts to end with the service', () => (residentHosts().length === 0 ? true : undefined), 10);
  });

  it('gives back what a run\'s program held: a resident host\'s memory stays flat run after run', async () => {
    const service = await startTestService({ database: 'sqlite' });
    services.push(service);
    // Every run's program holds 32 MB while it is loaded: a host that kept any run's modules, or
    // the memory they held, would grow by that much each run.
    const BALLAST_MB = 32;
    const first = await outcome(service, 'update', { config: { set: { ballastMb: String(BALLAST_MB) } } });
    expect(first.outputs).toMatchObject({ ballastMb: BALLAST_MB });
    const [host] = residentHosts();
    await outcome(service, 'preview');
    const settled = rssMb(host!);
    for (let run = 0; run < 8; run++) expect((await outcome(service, 'preview')).summary).toEqual({ same: 5 });
    expect(residentHosts()).toEqual([host]); // one host ran them all
    // 8 runs that each kept their ballast would add 256 MB; the bound leaves room for V8's own heap.
    expect(rssMb(host!) - settled).toBeLessThan(2 * BALLAST_MB);
  });
});
