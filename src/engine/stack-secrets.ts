// Each stack's passphrase secrets provider has a salt, which Pulumi keeps in the stack file
// (encryptionsalt) and in the stack's state. The service keeps it in its database instead of
// the committed stack files, and writes it into each run's workspace. It is learnt once: from
// the stack file `pulumi stack init` writes, from an existing stack's state, or, for an
// existing stack that never stored one, from the one the CLI makes when a secret is first set.
import { runCli } from './cli.js';
import type { Workspaces } from './workspace.js';
import { writeSalt, writtenSalt } from './workspace.js';

export interface SaltStore {
  get(environment: string): Promise<string | undefined>;
  /** Stores a salt unless one is stored already; returns the stored one. */
  put(environment: string, salt: string): Promise<string>;
}

export interface StackCli {
  cli: string;
  env(): Record<string, string>;
  programDir: string;
  workspaces: Workspaces;
}

/** Creates the stack if needed and returns its salt. */
export async function ensureStackSalt(environment: string, salts: SaltStore, stack: StackCli): Promise<string> {
  const known = await salts.get(environment);
  if (known) return known;
  const scratch = stack.workspaces.bare(`init-${environment}-${process.pid}`, stack.programDir);
  try {
    const run = (args: string[], input?: string) => runCli(stack.cli, { args: [...args, '--non-interactive'], cwd: scratch.dir, env: stack.env(), input });
    const init = await run(['stack', 'init', environment]);
    let salt = init.code === 0 ? writtenSalt(scratch.dir, stack.programDir, environment) : undefined;
    if (!salt && init.code !== 0 && !/already exists/.test(init.stderr)) throw new Error(firstError(init.stderr));
    if (!salt) {
      // An existing stack: its state's salt, checked against our passphrase by setting a
      // secret with it (or, if it has none, the one the CLI makes for that secret).
      const fromState = await stateSalt(run, environment);
      if (fromState) writeSalt(scratch.dir, stack.programDir, environment, fromState);
      const probe = await run(['config', 'set', '--secret', '--stack', environment, 'stackpilot:passphrase-check'], 'check');
      if (probe.code !== 0) throw new Error(/incorrect passphrase/i.test(probe.stderr)
        ? `the secrets passphrase does not open stack ${environment} in this state backend: use the passphrase it was created with, or another STACKPILOT_STATE_BACKEND`
        : firstError(probe.stderr));
      salt = writtenSalt(scratch.dir, stack.programDir, environment);
    }
    if (!salt) throw new Error(`the CLI made no encryption salt for stack ${environment}`);
    return await salts.put(environment, salt);
  } finally {
    scratch.remove();
  }
}

async function stateSalt(run: (args: string[]) => ReturnType<typeof runCli>, environment: string): Promise<string | undefined> {
  const exported = await run(['stack', 'export', '--stack', environment]);
  if (exported.code !== 0) throw new Error(firstError(exported.stderr));
  const state = JSON.parse(exported.stdout || '{}') as { deployment?: { secrets_providers?: { type?: string; state?: { salt?: string } } } };
  const provider = state.deployment?.secrets_providers;
  return provider?.type === 'passphrase' ? provider.state?.salt : undefined;
}

function firstError(stderr: string): string {
  return stderr.split('\n').map((l) => l.trim()).find((l) => l.startsWith('error:')) ?? (stderr.trim().split('\n')[0] || 'the Pulumi CLI failed');
}
