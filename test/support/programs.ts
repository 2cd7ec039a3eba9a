// Test programs run from a private copy, because the Automation API writes Pulumi.<stack>.yaml
// next to Pulumi.yaml; the copy links the repository's node_modules so @pulumi/* resolve.
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoDir = resolve(import.meta.dirname, '..', '..');

/** The secrets passphrase every test stack uses. */
export const TEST_PASSPHRASE = 'stackpilot-test-passphrase';

export interface TempProgram {
  dir: string;
  /** A file:// state backend private to this copy. */
  backendUrl: string;
  /** A file holding TEST_PASSPHRASE, as the CLI reads it (PULUMI_CONFIG_PASSPHRASE_FILE). */
  passphraseFile: string;
  remove(): void;
}

export function copyProgram(fixture: string): TempProgram {
  return privateCopy(`stackpilot-${fixture}-`, (dir) => cpSync(join(repoDir, 'test', 'fixtures', 'programs', fixture), dir, { recursive: true }));
}

/** A private copy of the repository's own Pulumi project: Pulumi.yaml, programs/ and stacks/. */
export function copyProject(): TempProgram {
  return privateCopy('stackpilot-project-', (dir) => {
    for (const part of ['Pulumi.yaml', 'programs', 'stacks']) cpSync(join(repoDir, part), join(dir, part), { recursive: true });
  });
}

/** A temporary folder with the program (filled by `fill`), linked node_modules and its own state. */
function privateCopy(prefix: string, fill: (dir: string) => void): TempProgram {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const dir = join(root, 'program');
  fill(dir);
  symlinkSync(join(repoDir, 'node_modules'), join(dir, 'node_modules'));
  const state = join(root, 'state');
  mkdirSync(state);
  const passphraseFile = join(root, 'passphrase');
  writeFileSync(passphraseFile, TEST_PASSPHRASE, { mode: 0o600 });
  return { dir, backendUrl: `file://${state}`, passphraseFile, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export function requireKubeconfig(): string {
  const kubeconfig = process.env.KUBECONFIG;
  if (!kubeconfig) throw new Error('KUBECONFIG is not set: run the tests with `npm test`, which starts the local cluster');
  return kubeconfig;
}
