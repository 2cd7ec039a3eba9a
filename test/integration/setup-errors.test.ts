// `npm run setup` fails with one clear line, not a stack trace, when Go is missing or too old
// or when the module proxy cannot be reached. Each case points setup at an empty cache, so
// it has something to build.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoDir } from '../support/programs.js';

const scratch = mkdtempSync(join(tmpdir(), 'stackpilot-setup-'));

function setup(env: Record<string, string>) {
  const result = spawnSync(process.execPath, [join(repoDir, 'toolchain', 'setup.mjs')], {
    cwd: repoDir, encoding: 'utf8', timeout: 120_000,
    env: { HOME: process.env.HOME!, STACKPILOT_CACHE_DIR: mkdtempSync(join(scratch, 'cache-')), ...env },
  });
  const lines = result.stderr.trim().split('\n');
  return { status: result.status, last: lines.at(-1) ?? '', stderr: result.stderr };
}

const NO_TRACE = /^\s+at /m;

describe('setup errors', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('names a missing Go', () => {
    const result = setup({ PATH: `${join(process.execPath, '..')}:/usr/bin:/bin` });
    expect(result.status).toBe(1);
    expect(result.last).toBe('setup: error: Go 1.26 or newer is needed to build the Pulumi toolchain, and `go` is not on PATH');
    expect(result.stderr).not.toMatch(NO_TRACE);
  });

  it('names a Go that is too old', () => {
    const bin = mkdtempSync(join(scratch, 'bin-'));
    writeFileSync(join(bin, 'go'), '#!/bin/sh\necho go1.19.8\n');
    chmodSync(join(bin, 'go'), 0o755);
    const result = setup({ PATH: `${bin}:${join(process.execPath, '..')}:/usr/bin:/bin` });
    expect(result.status).toBe(1);
    expect(result.last).toBe('setup: error: Go 1.26 or newer is needed to build the Pulumi toolchain; found go1.19.8');
    expect(result.stderr).not.toMatch(NO_TRACE);
  });

  it('names an unreachable module proxy', () => {
    const result = setup({
      PATH: process.env.PATH!,
      GOPROXY: 'http://127.0.0.1:9', // nothing listens on the discard port: refused at once
      GOSUMDB: 'off',
      GOMODCACHE: mkdtempSync(join(scratch, 'modcache-')),
      GOFLAGS: '-mod=mod',
    });
    expect(result.status).toBe(1);
    expect(result.last).toBe('setup: error: cannot download the Go modules for pulumi-cli: is the Go module proxy (http://127.0.0.1:9) reachable?');
    expect(result.stderr).not.toMatch(NO_TRACE);
  });
});
