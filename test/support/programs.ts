// Test programs run from a private copy, because the Automation API writes Pulumi.<stack>.yaml
// next to Pulumi.yaml; the copy links the repository's node_modules so @pulumi/* resolve.
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoDir = resolve(import.meta.dirname, '..', '..');

export interface TempProgram {
  dir: string;
  /** A file:// state backend private to this copy. */
  backendUrl: string;
  remove(): void;
}

export function copyProgram(fixture: string): TempProgram {
  const root = mkdtempSync(join(tmpdir(), `stackpilot-${fixture}-`));
  const dir = join(root, 'program');
  cpSync(join(repoDir, 'test', 'fixtures', 'programs', fixture), dir, { recursive: true });
  symlinkSync(join(repoDir, 'node_modules'), join(dir, 'node_modules'));
  const state = join(root, 'state');
  mkdirSync(state);
  return { dir, backendUrl: `file://${state}`, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** A private copy of the repository's own Pulumi project: Pulumi.yaml, programs/ and stacks/. */
export function copyProject(): TempProgram {
  const root = mkdtempSync(join(tmpdir(), 'stackpilot-project-'));
  const dir = join(root, 'program');
  for (const part of ['Pulumi.yaml', 'programs', 'stacks']) cpSync(join(repoDir, part), join(dir, part), { recursive: true });
  symlinkSync(join(repoDir, 'node_modules'), join(dir, 'node_modules'));
  const state = join(root, 'state');
  mkdirSync(state);
  return { dir, backendUrl: `file://${state}`, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export function requireKubeconfig(): string {
  const kubeconfig = process.env.KUBECONFIG;
  if (!kubeconfig) throw new Error('KUBECONFIG is not set: run the tests with `npm test`, which starts the local cluster');
  return kubeconfig;
}
