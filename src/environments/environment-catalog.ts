// The environments are the stack config files of the project: <stackConfigDir>/Pulumi.<env>.yaml.
// Their names are read once at start-up; every environment name in a request is checked
// against this set before it reaches the filesystem, the database or the CLI. The files are
// read, never written: generated state (the secrets provider's salt) lives in the database,
// and so do the configuration versions that start from them (releases/config-versions.ts).
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { NotFoundError } from '../errors.js';
import { statStamped } from '../file-stamp.js';
import { ENVIRONMENT_NAME } from './environment-name.js';

/** Shown in this order; others follow alphabetically. */
const KNOWN_ORDER = ['development', 'testing', 'staging', 'production'];

export interface StackConfigFile {
  readonly config: Record<string, unknown>;
  readonly encryptionSalt?: string;
  readonly digest: string;
}

export class EnvironmentCatalog {
  private readonly read = new Map<string, { key: string; file: StackConfigFile }>();

  private constructor(readonly project: string, readonly projectDir: string, private readonly configDir: string, readonly names: readonly string[]) {}

  static load(projectDir: string): EnvironmentCatalog {
    const settings = parse(readFileSync(join(projectDir, 'Pulumi.yaml'), 'utf8')) as { name?: string; stackConfigDir?: string };
    const configDir = join(projectDir, settings.stackConfigDir ?? '.');
    const names = readdirSync(configDir)
      .map((file) => /^Pulumi\.(.+)\.ya?ml$/.exec(file)?.[1])
      .filter((name): name is string => name !== undefined && ENVIRONMENT_NAME.test(name))
      .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    if (!names.length) throw new Error(`no stack config files (Pulumi.<env>.yaml) in ${configDir}`);
    return new EnvironmentCatalog(settings.name ?? 'unknown', projectDir, configDir, Object.freeze(names));
  }

  has(name: string): boolean {
    return this.names.includes(name);
  }

  /** Throws NotFound for a name that is not an environment. */
  require(name: string): string {
    if (!this.has(name)) throw new NotFoundError('environment_not_found', `no environment named ${JSON.stringify(name.slice(0, 64))}`);
    return name;
  }

  /**
   * The stack's configuration as its file holds it today (the `config:` map), with the salt its
   * secrets were encrypted with when someone set them with the CLI (committed files carry none).
   */
  stackConfig(name: string): StackConfigFile {
    const file = join(this.configDir, `Pulumi.${this.require(name)}.yaml`);
    // Asked before every operation is queued: the file is read and hashed again only when its
    // inode, size or modification time (to the nanosecond) moved, which every write does.
    const key = statStamped(file).stamp;
    const cached = this.read.get(name);
    if (cached?.key === key) return cached.file;
    const text = readFileSync(file, 'utf8');
    const document = parse(text) as { config?: Record<string, unknown>; encryptionsalt?: string } | null;
    const read: StackConfigFile = {
      config: document?.config ?? {}, digest: createHash('sha256').update(text).digest('hex'),
      ...(document?.encryptionsalt ? { encryptionSalt: document.encryptionsalt } : {}),
    };
    this.read.set(name, { key, file: read });
    return read;
  }
}

function rank(name: string): number {
  const i = KNOWN_ORDER.indexOf(name);
  return i === -1 ? KNOWN_ORDER.length : i;
}
