// No process in the chain that runs the service keeps a secret in its initial environment:
// a Pulumi program can read its ancestors' /proc/<pid>/environ, and deleting a variable from
// process.env does not change that file. A service started with secrets in its environment
// moves them to files only it can read and replaces itself (execve, same pid) with an
// environment that names the files instead (NAME_FILE); after reading them it removes them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SECRET_VARIABLES } from './config.js';

/** Names the folder of files a launcher handed secrets over in, to be removed once read. */
export const HANDOFF_VARIABLE = 'STACKPILOT_SECRET_HANDOFF';

/** Moves secret variables into files and restarts this process without them; returns only when there are none. */
export function restartWithoutSecretVariables(): void {
  const present = SECRET_VARIABLES.filter((name) => process.env[name] !== undefined);
  if (!present.length) return;
  if (typeof process.execve !== 'function') return; // a Node without execve: the variables stay (README)
  const dir = mkdtempSync(join(tmpdir(), 'stackpilot-handoff-'));
  const env: Record<string, string> = { ...(process.env as Record<string, string>), [HANDOFF_VARIABLE]: dir };
  for (const name of present) {
    const file = join(dir, name);
    writeFileSync(file, env[name]!, { mode: 0o600 });
    delete env[name];
    env[`${name}_FILE`] = file;
  }
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], env);
}

/** Removes the handed-over files once the configuration has read them. */
export function removeHandoff(): void {
  const dir = process.env[HANDOFF_VARIABLE];
  if (!dir) return;
  rmSync(dir, { recursive: true, force: true });
  delete process.env[HANDOFF_VARIABLE];
}
