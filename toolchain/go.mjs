// The Go commands every toolchain recipe uses: module downloads first (so an unreachable
// proxy fails before any compiling), then trimmed, stripped builds with the committed go.sum.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { toolchainDir } from './versions.mjs';

export function go(args, cwd, env = {}) {
  execFileSync('go', args, {
    cwd,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly', ...env },
  });
}

export function goBuild(cwd, out, pkg, ldflags = '', tags = '') {
  const args = ['build', '-trimpath', '-o', out];
  if (tags) args.push('-tags', tags);
  args.push('-ldflags', `-s -w ${ldflags}`.trim(), pkg);
  go(args, cwd);
}

/** Fetches a group's modules, so an unreachable proxy fails before any compiling. */
export function download(group) {
  go(['mod', 'download'], join(toolchainDir, group));
}
