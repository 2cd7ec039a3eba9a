// CoreDNS for the real node's pods (see cmd/main.go for the plugins it links). Its version is
// a constant in its own source, so nothing needs stamping.
import { join } from 'node:path';
import { goBuild } from '../go.mjs';
import { toolchainDir } from '../versions.mjs';

export function build(out) {
  goBuild(join(toolchainDir, 'coredns'), join(out, 'bin', 'coredns'), './cmd');
}
