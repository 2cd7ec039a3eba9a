// Stackpilot's Node.js language host (see main.go for why it is ours).
import { join } from 'node:path';
import { goBuild } from '../go.mjs';
import { readVersions, toolchainDir } from '../versions.mjs';

export function build(out) {
  goBuild(join(toolchainDir, 'language-host'), join(out, 'bin', 'pulumi-language-nodejs'), '.', `-X main.version=v${readVersions().pulumi}`);
}
