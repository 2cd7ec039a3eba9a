// Writes stack configuration the way an operator would, with the real CLI. Secret values go
// through stdin, never argv.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { toolchainPaths } from '../../toolchain/versions.mjs';
import { pulumiEnv } from '../../src/engine/pulumi-env.js';
import type { TempProgram } from './programs.js';

function pulumi(program: TempProgram, args: string[], input?: string): Promise<string> {
  const env = { ...process.env, ...pulumiEnv({ backendUrl: program.backendUrl, passphraseFile: program.passphraseFile, path: process.env.PATH ?? '' }) };
  return new Promise((resolve, reject) => {
    const child = execFile(join(toolchainPaths().bin, 'pulumi'), [...args, '--non-interactive'], { cwd: program.dir, env }, (error, stdout, stderr) =>
      error ? reject(new Error(`pulumi ${args[0]} failed: ${stderr}`)) : resolve(stdout));
    child.stdin?.end(input ?? '');
  });
}

export async function setSecretConfig(program: TempProgram, stack: string, key: string, value: string): Promise<void> {
  await pulumi(program, ['stack', 'init', stack]).catch(() => undefined); // already there is fine
  await pulumi(program, ['config', 'set', '--secret', '--stack', stack, key], value);
}

export async function setConfig(program: TempProgram, stack: string, key: string, value: string): Promise<void> {
  await pulumi(program, ['stack', 'init', stack]).catch(() => undefined);
  await pulumi(program, ['config', 'set', '--stack', stack, key, value]);
}

/**
 * Sets a plain value by editing the stack file itself, as an operator's commit would: no CLI
 * runs, so nothing reads the stack's state while an operation writes it.
 */
export function setFileConfig(program: TempProgram, stack: string, key: string, value: string): void {
  const file = join(program.dir, 'stacks', `Pulumi.${stack}.yaml`);
  const document = (parse(readFileSync(file, 'utf8')) ?? {}) as { config?: Record<string, unknown> };
  const project = (parse(readFileSync(join(program.dir, 'Pulumi.yaml'), 'utf8')) as { name: string }).name;
  document.config = { ...document.config, [`${project}:${key}`]: value };
  writeFileSync(file, stringify(document));
}

/** A stack file's configuration, as it stands. */
export function stackConfig(program: TempProgram, stack: string): Record<string, unknown> {
  return ((parse(readFileSync(join(program.dir, 'stacks', `Pulumi.${stack}.yaml`), 'utf8')) ?? {}) as { config?: Record<string, unknown> }).config ?? {};
}
