// The mapping from the CLI's error texts (as this pinned CLI prints them) to reasons and
// messages fit to show.
import { describe, expect, it } from 'vitest';
import { toEngineFailure } from '../../src/engine/engine-errors.js';
import { CliError } from '../../src/engine/cli-run.js';

const LOCKED = `warning: something unrelated
error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with \`pulumi cancel\`.
  file:///tmp/state/.pulumi/locks/organization/fixture-project/development/b5bef748.json?no_tmp_dir=true: created by alice@ci-7 (pid 4242) at 2026-11-26T10:14:55Z
`;

describe('engine error mapping', () => {
  it('recognises a lock conflict and names the holder', () => {
    const failure = toEngineFailure(new CliError(255, LOCKED), false);
    expect(failure.reason).toBe('locked');
    expect(failure.message).toContain('the stack is currently locked by 1 lock(s)');
    expect(failure.message).toContain('created by alice@ci-7 (pid 4242)');
    expect(failure.message).not.toContain('warning: something unrelated');
  });

  it('recognises a missing plugin', () => {
    const failure = toEngineFailure(new CliError(255, 'error: could not load plugin for kubernetes provider: plugin kubernetes 4.99.0 not installed'), false);
    expect(failure.reason).toBe('plugin_missing');
  });

  it('recognises a failing program', () => {
    const failure = toEngineFailure(new CliError(255, 'error: Program exited with non-zero exit code: 1'), false);
    expect(failure.reason).toBe('program_failed');
  });

  it('calls any failure after an abort a cancellation', () => {
    expect(toEngineFailure(new CliError(255, 'error: update failed'), true).reason).toBe('cancelled');
  });

  it('never repeats the command line an Automation API error starts with', () => {
    const automationError = Object.assign(new Error('x'), {
      stderr: 'Command failed with exit code 255: /root/.cache/bin/pulumi up --yes --stack development --config secret=hunter2\nerror: update failed',
    });
    const failure = toEngineFailure(automationError, false);
    expect(failure.message).toBe('error: update failed');
    expect(failure.reason).toBe('engine_failed');
  });
});
