// The Pulumi CLI, stamped so `pulumi version` prints its version: the Automation API parses it.
import { join } from 'node:path';
import { goBuild } from '../go.mjs';
import { readVersions, toolchainDir } from '../versions.mjs';

export function build(out) {
  goBuild(join(toolchainDir, 'pulumi-cli'), join(out, 'bin', 'pulumi'), 'github.com/pulumi/pulumi/pkg/v3/cmd/pulumi',
    `-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${readVersions().pulumi}`, 'osusergo,grpcnotrace');
}
