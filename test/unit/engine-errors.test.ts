// The mapping from a failed CLI run (its exit, its error diagnostics, its stderr as this pinned
// CLI prints them) to a code and a message a user can act on.
import { describe, expect, it } from 'vitest';
import { toEngineFailure } from '../../src/engine/engine-errors.js';
import type { FailedResource } from '../../src/engine/types.js';

const LOCKED = `warning: something unrelated
error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with \`pulumi cancel\`.
  file:///srv/stackpilot/data/state/.pulumi/locks/organization/fixture-project/development/b5bef748.json?no_tmp_dir=true: created by alice@ci-7 (pid 4242) at 2026-11-26T10:14:55Z
`;

function run(stderr: string, extra: { code?: number | null; signal?: NodeJS.Signals | null; failedResources?: FailedResource[]; errors?: string[] } = {}) {
  return {
    exit: { code: extra.code === undefined ? 255 : extra.code, signal: extra.signal ?? null, pid: 1, stdout: '', stderr },
    failedResources: extra.failedResources ?? [],
    errors: extra.errors ?? [],
  };
}

describe('engine error mapping', () => {
  it('recognises a lock conflict, names the holder, and neither shows a server path nor tells the caller to run pulumi cancel', () => {
    const failure = toEngineFailure(run(LOCKED), { aborted: false });
    expect(failure.code).toBe('locked');
    expect(failure.message).toContain('alice@ci-7 (pid 4242) since 2026-11-26T10:14:55Z');
    expect(failure.details.lockHolders).toEqual([{ username: 'alice', hostname: 'ci-7', pid: 4242, timestamp: '2026-11-26T10:14:55Z' }]);
    expect(failure.message).not.toContain('/srv/stackpilot');
    expect(failure.message).not.toContain('pulumi cancel');
    expect(failure.message).not.toContain('warning: something unrelated');
  });

  it('recognises a missing plugin', () => {
    expect(toEngineFailure(run('error: could not load plugin for kubernetes provider: plugin kubernetes 4.99.0 not installed'), { aborted: false }).code).toBe('plugin_missing');
  });

  it('recognises a failing program', () => {
    expect(toEngineFailure(run('error: Program exited with non-zero exit code: 1'), { aborted: false }).code).toBe('program_failed');
  });

  it('calls any failure after an abort a cancellation', () => {
    expect(toEngineFailure(run('error: update failed'), { aborted: true }).code).toBe('cancelled');
  });

  it('names each failing resource and its diagnostic', () => {
    const failedResources = [
      { urn: 'urn:pulumi:development::p::kubernetes:core/v1:ConfigMap::bad', message: 'configmaps "Bad_Name" is invalid: metadata.name: Invalid value\n  more detail' },
    ];
    const failure = toEngineFailure(run('error: update failed', { failedResources }), { aborted: false });
    expect(failure.code).toBe('resource_failed');
    expect(failure.message).toBe('urn:pulumi:development::p::kubernetes:core/v1:ConfigMap::bad: configmaps "Bad_Name" is invalid: metadata.name: Invalid value more detail');
    expect(failure.details.resources).toHaveLength(1);
  });

  it('says which signal killed the CLI', () => {
    const failure = toEngineFailure(run('', { code: null, signal: 'SIGKILL' }), { aborted: false });
    expect(failure.code).toBe('engine_killed');
    expect(failure.message).toContain('killed by SIGKILL');
    expect(failure.details.signal).toBe('SIGKILL');
  });

  it('never repeats a command line, and hides the run\'s own folder', () => {
    const failure = toEngineFailure(run('Command failed with exit code 255: /root/.cache/bin/pulumi up --yes --stack development --config secret=hunter2\nerror: /data/workspaces/abc/programs/index.ts is broken'), { aborted: false, hidePaths: ['/data/workspaces/abc'] });
    expect(failure.message).toBe('error: <program>/programs/index.ts is broken');
    expect(failure.message).not.toContain('hunter2');
  });

  it('prefers the engine\'s own error diagnostics to stderr', () => {
    const failure = toEngineFailure(run('error: update failed', { errors: ['Running program failed: TypeError: x is undefined'] }), { aborted: false });
    expect(failure.code).toBe('program_failed');
    expect(failure.message).toBe('Running program failed: TypeError: x is undefined');
  });
});
