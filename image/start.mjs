// The container's service process (under tini, which reaps the engine's orphans). The image's
// root filesystem is read-only, so this prepares the one writable place the service needs
// outside /data, then runs src/server.ts in this same process (its SIGTERM handler drains
// operations). The toolchain is presented from /tmp: its bin/ is the image's, and PULUMI_HOME
// is a fresh folder whose plugins/ is the image's, because the CLI writes its workspace files
// there. Secrets mounted as files reach the service as NAME_FILE, which it reads itself.
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function fail(message) {
  process.stderr.write(`stackpilot: ${message}\n`);
  process.exit(1);
}

function writableToolchain(source, work) {
  if (!existsSync(join(source, 'bin', 'pulumi'))) fail(`STACKPILOT_TOOLCHAIN_DIR=${source} has no bin/pulumi: use the image's toolchain or mount one there`);
  const toolchain = join(work, 'toolchain');
  mkdirSync(join(toolchain, 'pulumi-home'), { recursive: true });
  symlinkSync(join(source, 'bin'), join(toolchain, 'bin'));
  symlinkSync(join(source, 'pulumi-home', 'plugins'), join(toolchain, 'pulumi-home', 'plugins'));
  return toolchain;
}

// One service process per container: a restart starts from a clean folder.
const work = join(tmpdir(), 'stackpilot-runtime');
try {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true, mode: 0o700 });
} catch (error) {
  fail(`cannot write ${work} (${error.code ?? error.message}): give the container a writable /tmp (a tmpfs or an emptyDir)`);
}
process.env.STACKPILOT_TOOLCHAIN_DIR = writableToolchain(process.env.STACKPILOT_TOOLCHAIN_DIR ?? '/opt/stackpilot/toolchain', work);
process.env.STACKPILOT_PROJECT_DIR ??= join(import.meta.dirname, '..', 'project');

await import('../src/server.ts');
