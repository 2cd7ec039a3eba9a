// Program bundles on the real engine: a TypeScript program started with tsx in its Pulumi.yaml
// runs from its bundle with plain node (the language host's node process has no tsx), gives
// the same resources and outputs as through tsx on the same stack (a preview after switching
// modes changes nothing), names the .ts file and line when it throws, and a program that does
// not compile is refused when an update is queued, with refreshes still running.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineProcesses } from '../../src/engine/engine-processes.js';
import { createLogger } from '../../src/logger.js';
import { startService, type Service } from '../../src/service.js';
import { DATABASES } from '../support/databases.js';
import { startTestService, type TestService } from '../support/service.js';
import { setFileConfig } from '../support/stack-config.js';
import { waitFor } from '../support/wait.js';

type Inject = TestService['inject'];

/** The command line of the operation's program process (node running Pulumi's run script), read while it runs. */
async function programCommandLine(operationId: string): Promise<string[]> {
  return waitFor(`the program process of ${operationId}`, () => {
    for (const found of engineProcesses(operationId)) {
      if (found.command !== 'node') continue;
      try {
        const args = readFileSync(`/proc/${found.pid}/cmdline`, 'latin1').split('\0').filter(Boolean);
        // The run script by its resolved path; the language host's `node -e require.resolve(...)`
        // names it as a package path, and is not the program.
        if (args.some((arg) => arg.startsWith('/') && arg.includes('/@pulumi/pulumi/cmd/run/'))) return args;
      } catch {
        // ended meanwhile
      }
    }
    return undefined;
  }, 60, 50);
}

async function run(inject: Inject, environment: string, type: string, watch?: (id: string) => Promise<void>) {
  const created = await inject({ method: 'POST', url: `/v1/environments/${environment}/operations`, payload: { type } });
  expect(created.statusCode, created.body).toBe(202);
  const { id } = created.json();
  await watch?.(id);
  for (;;) {
    const operation = (await inject({ url: `/v1/operations/${id}?wait=60` })).json();
    if (operation.status !== 'queued' && operation.status !== 'running') return operation;
  }
}

describe.each(DATABASES)('program bundles on %s', (database) => {
  let service: TestService;
  let tsxService: Service | undefined;
  let bundled: { outputs: unknown; summary: unknown };

  beforeAll(async () => {
    // The program's own node process is what the first test reads: each run starts one here.
    // Resident language hosts, which run bundles too, are tested in warm-engine.test.ts.
    service = await startTestService({ database, fixture: 'typescript-project', config: { engineResidentHosts: false } });
  });
  afterAll(async () => {
    await tsxService?.stop(1000);
    await service?.close();
  });

  it('runs the program from its bundle, with no tsx in the program\'s node process', async () => {
    setFileConfig(service.program, 'development', 'sleepMs', '3000');
    let commandLine: string[] = [];
    const done = await run(service.inject, 'development', 'update', async (id) => {
      commandLine = await programCommandLine(id);
    });
    expect(done.status, done.error).toBe('succeeded');
    expect(commandLine.join(' ')).not.toMatch(/tsx/);
    expect(commandLine[commandLine.indexOf('--pwd') + 1]).toMatch(/\/bundle$/); // the program folder: bundle/, as the bundle's Pulumi.yaml says
    expect(done.summary).toEqual({ create: 5 }); // the stack, two layers, their markers
    expect(done.outputs).toEqual({ greeting: 'hello from development', layers: ['infrastructure ready', 'workloads ready'], secret: '[secret]' });
    bundled = { outputs: done.outputs, summary: done.summary };
  });

  it('names the .ts file and line when the program throws', async () => {
    setFileConfig(service.program, 'testing', 'failWith', 'stop here');
    const failed = await run(service.inject, 'testing', 'update');
    expect(failed.status).toBe('failed');
    expect(failed.errorCode).toBe('program_failed');
    expect(failed.error).toContain('stop here');
    expect(failed.error).toMatch(/programs\/fail\.ts:3:\d+/);
    // Run from its snapshot in the data dir, the program is <program> to the user.
    expect(failed.error).toContain('<program>/');
    expect(failed.error).not.toContain(service.config.dataDir);
  });

  it('refuses an update of a program that does not compile, naming file and line, and still refreshes', async () => {
    const file = join(service.program.dir, 'programs', 'layer.ts');
    const source = readFileSync(file, 'utf8');
    writeFileSync(file, source.replace('readonly ready: Promise<string>;', 'readonly ready: Promise<string> = ;'));
    try {
      const refused = await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type: 'update' } });
      expect(refused.statusCode).toBe(422);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      const problem = refused.json();
      expect(problem.code).toBe('program_build_failed');
      expect(problem.detail).toMatch(/^the program does not compile: programs\/layer\.ts:5:\d+: /);
      expect(problem.errors).toEqual([expect.objectContaining({ file: 'programs/layer.ts', line: 5 })]);
      const refreshed = await run(service.inject, 'development', 'refresh');
      expect(refreshed.status, refreshed.error).toBe('succeeded');
    } finally {
      writeFileSync(file, source);
    }
  });

  it('gives the same resources and outputs through tsx on the same stack: switching modes changes nothing', async () => {
    const preview = await run(service.inject, 'development', 'preview');
    expect(preview.summary).toEqual({ same: 5 });
    await service.stop(5000);
    // The same data dir, database, state and program, with bundles off.
    tsxService = await startService({ ...service.config, programBundles: false, metricsPort: 0 }, createLogger('silent'));
    const inject: Inject = (request) => {
      const options = typeof request === 'string' ? { url: request } : request;
      return tsxService!.app.inject({ ...options, headers: { authorization: `Bearer ${service.adminKey}`, ...options.headers } });
    };
    const tsxPreview = await run(inject, 'development', 'preview');
    expect(tsxPreview.status, tsxPreview.error).toBe('succeeded');
    expect(tsxPreview.summary).toEqual({ same: 5 });
    let commandLine: string[] = [];
    const tsxUpdate = await run(inject, 'development', 'update', async (id) => {
      commandLine = await programCommandLine(id);
    });
    expect(tsxUpdate.status, tsxUpdate.error).toBe('succeeded');
    expect(commandLine.join(' ')).toMatch(/--import tsx/); // the check above can tell the two apart
    expect(commandLine[commandLine.indexOf('--pwd') + 1]).toMatch(/\/programs$/);
    expect(tsxUpdate.summary).toEqual({ same: 5 });
    expect(tsxUpdate.outputs).toEqual(bundled.outputs);
  });
});
