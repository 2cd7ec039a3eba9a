// The kubernetes provider plugin. Upstream generates two files before building (its `go
// generate` step): the schema stamped with the plugin version, and the Terraform mapping,
// both compacted; they are made here in a scratch copy of the wrapper module.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goBuild } from '../go.mjs';
import { readVersions, toolchainDir } from '../versions.mjs';

export function build(out) {
  const { version, module } = readVersions().plugins.kubernetes;
  const src = join(toolchainDir, 'provider-kubernetes');
  const moduleDir = execFileSync('go', ['list', '-m', '-f', '{{.Dir}}', module], { cwd: src, encoding: 'utf8' }).trim();
  const upstreamCmd = join(moduleDir, 'cmd', 'pulumi-resource-kubernetes');
  const work = mkdtempSync(join(tmpdir(), 'stackpilot-provider-'));
  try {
    cpSync(src, work, { recursive: true });
    const schema = JSON.parse(readFileSync(join(upstreamCmd, 'schema.json'), 'utf8'));
    schema.version = version;
    writeFileSync(join(work, 'schema-embed.json'), JSON.stringify(schema));
    const mapping = JSON.parse(readFileSync(join(upstreamCmd, 'terraform-mapping.json'), 'utf8'));
    writeFileSync(join(work, 'terraform-mapping-embed.json'), JSON.stringify(mapping));
    goBuild(work, join(out, 'plugins', 'pulumi-resource-kubernetes'), '.',
      `-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${version}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
