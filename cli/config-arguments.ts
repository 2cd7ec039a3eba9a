// `deploy --set key=value` and `--secret key=@file`: parsed before anything is sent, so a
// value the CLI cannot read is a usage error (exit 4) that queues nothing. Keys use the path
// syntax of `pulumi config set --path` (backend.image, replicas[0]...).
import { readFileSync } from 'node:fs';
import { usageError } from './exit-codes.js';

const KEY = /^[A-Za-z_][A-Za-z0-9_-]*(:[A-Za-z_][A-Za-z0-9_-]*)?(\.[A-Za-z_][A-Za-z0-9_-]*|\[[0-9]+\])*$/;

export interface ConfigChanges {
  set: Record<string, string>;
  secrets: Record<string, string>;
}

export function parseSet(argument: string, into: Record<string, string> = {}): Record<string, string> {
  const [key, value] = split(argument, '--set');
  return { ...into, [key]: value };
}

/** `key=@file`: the secret is read from a file, so it never appears in the process list or the shell history. */
export function parseSecret(argument: string, into: Record<string, string> = {}): Record<string, string> {
  const [key, reference] = split(argument, '--secret');
  if (!reference.startsWith('@') || reference.length < 2) throw usageError(`--secret ${key}: give the value as @file (a path), not inline`);
  let value: string;
  try {
    value = readFileSync(reference.slice(1), 'utf8').replace(/\r?\n$/, '');
  } catch {
    throw usageError(`--secret ${key}: cannot read ${reference.slice(1)}`);
  }
  return { ...into, [key]: value };
}

function split(argument: string, option: string): [string, string] {
  const at = argument.indexOf('=');
  if (at <= 0) throw usageError(`${option} ${JSON.stringify(argument)}: expected key=value`);
  const key = argument.slice(0, at);
  if (!KEY.test(key)) throw usageError(`${option} ${JSON.stringify(key)}: not a configuration key (letters, digits, _ and -, with .name or [index] for nested values)`);
  return [key, argument.slice(at + 1)];
}

/** The configuration change a deploy carries, or undefined when it carries none. */
export function configChanges(set: Record<string, string>, secrets: Record<string, string>): ConfigChanges | undefined {
  return Object.keys(set).length || Object.keys(secrets).length ? { set, secrets } : undefined;
}
