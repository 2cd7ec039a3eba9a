// The environments are the stack config files of the project: <stackConfigDir>/Pulumi.<env>.yaml.
// Read once at start-up; every environment name in a request is checked against this set
// before it reaches the filesystem, the database or the CLI.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { NotFoundError } from '../errors.js';

const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,62}$/;
/** Shown in this order; others follow alphabetically. */
const KNOWN_ORDER = ['development', 'testing', 'staging', 'production'];

export class EnvironmentCatalog {
  private constructor(readonly project: string, readonly names: readonly string[]) {}

  static load(projectDir: string): EnvironmentCatalog {
    const settings = parse(readFileSync(join(projectDir, 'Pulumi.yaml'), 'utf8')) as { name?: string; stackConfigDir?: string };
    const configDir = join(projectDir, settings.stackConfigDir ?? '.');
    const names = readdirSync(configDir)
      .map((file) => /^Pulumi\.(.+)\.ya?ml$/.exec(file)?.[1])
      .filter((name): name is string => name !== undefined && ENVIRONMENT_NAME.test(name))
      .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    if (!names.length) throw new Error(`no stack config files (Pulumi.<env>.yaml) in ${configDir}`);
    return new EnvironmentCatalog(settings.name ?? 'unknown', Object.freeze(names));
  }

  has(name: string): boolean {
    return this.names.includes(name);
  }

  /** Throws NotFound for a name that is not an environment. */
  require(name: string): string {
    if (!this.has(name)) throw new NotFoundError('environment_not_found', `no environment named ${JSON.stringify(name.slice(0, 64))}`);
    return name;
  }
}

function rank(name: string): number {
  const i = KNOWN_ORDER.indexOf(name);
  return i === -1 ? KNOWN_ORDER.length : i;
}
