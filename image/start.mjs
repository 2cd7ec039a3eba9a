// The container's service process (under tini, which reaps the engine's orphans). The image's
// root filesystem is read-only, so this prepares the few writable places the service needs in
// /tmp, then runs src/server.ts in this same process (its SIGTERM handler drains operations).
//
// - The Pulumi project is copied from STACKPILOT_PROJECT_DIR (the image's TORONTO project, or
//   one mounted in its place) because the engine writes each stack's settings (its encryption
//   salt) beside Pulumi.yaml. node_modules is linked, not copied. A salt lost with the copy
//   does no harm: the stack's state keeps the one its secrets were encrypted with, and the
//   passphrase is the same (the image test restarts the container and runs again).
// - The toolchain is presented from /tmp too: its bin/ is the image's, and PULUMI_HOME is a
//   fresh folder whose plugins/ is the image's, because the CLI writes its workspace files there.
// - Secrets mounted as files (Kubernetes and Compose secrets) are read from the *_FILE
//   variables into the ones the service reads. This bridge can go once config.ts reads
//   *_FILE itself; it removes each *_FILE it reads, so the two never disagree.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const APP_DIR = join(import.meta.dirname, '..');
const SECRET_VARIABLES = ['DATABASE_URL', 'STACKPILOT_SECRETS_PASSPHRASE', 'STACKPILOT_BOOTSTRAP_ADMIN_KEY', 'STACKPILOT_STATE_BACKEND'];

function fail(message) {
  process.stderr.write(`stackpilot: ${message}\n`);
  process.exit(1);
}

function writableProject(source, work) {
  if (!existsSync(join(source, 'Pulumi.yaml'))) fail(`STACKPILOT_PROJECT_DIR=${source} has no Pulumi.yaml: mount a Pulumi project there or unset it`);
  const copy = join(work, 'project');
  cpSync(source, copy, { recursive: true, filter: (path) => !['node_modules', '.git'].includes(basename(path)) || path === source });
  const modules = existsSync(join(source, 'node_modules')) ? join(source, 'node_modules') : join(APP_DIR, 'node_modules');
  symlinkSync(modules, join(copy, 'node_modules'));
  return copy;
}

function writableToolchain(source, work) {
  if (!existsSync(join(source, 'bin', 'pulumi'))) fail(`STACKPILOT_TOOLCHAIN_DIR=${source} has no bin/pulumi: use the image's toolchain or mount one there`);
  const toolchain = join(work, 'toolchain');
  mkdirSync(join(toolchain, 'pulumi-home'), { recursive: true });
  symlinkSync(join(source, 'bin'), join(toolchain, 'bin'));
  symlinkSync(join(source, 'pulumi-home', 'plugins'), join(toolchain, 'pulumi-home', 'plugins'));
  return toolchain;
}

function readSecretFiles() {
  for (const name of SECRET_VARIABLES) {
    const file = process.env[`${name}_FILE`];
    if (!file) continue;
    if (process.env[name] !== undefined) fail(`both ${name} and ${name}_FILE are set: keep one`);
    try {
      process.env[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      fail(`${name}_FILE=${file} cannot be read (${error.code ?? error.message}): mount the secret there or unset ${name}_FILE`);
    }
    delete process.env[`${name}_FILE`];
  }
}

// One service process per container: a restart starts from a clean folder.
const work = join(tmpdir(), 'stackpilot-runtime');
try {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true, mode: 0o700 });
} catch (error) {
  fail(`cannot write ${work} (${error.code ?? error.message}): give the container a writable /tmp (a tmpfs or an emptyDir)`);
}
process.env.STACKPILOT_PROJECT_DIR = writableProject(process.env.STACKPILOT_PROJECT_DIR ?? join(APP_DIR, 'project'), work);
process.env.STACKPILOT_TOOLCHAIN_DIR = writableToolchain(process.env.STACKPILOT_TOOLCHAIN_DIR ?? '/opt/stackpilot/toolchain', work);
readSecretFiles();

await import('../src/server.ts');
