// Each environment's configuration as versioned data. Version 1 is the committed stack file;
// when that file's digest changes (a deliberate edit in the repository) it comes in again as a
// new version authored `file`; the file itself is never written. Every other version is a change made through the API: values
// set and unset at paths, and secrets, which are encrypted by the stack's secrets provider
// before they are stored, so no plaintext secret is ever written anywhere.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Actor } from '../auth/actor.js';
import type { Governance } from '../auth/governance.js';
import type { Engine } from '../engine/types.js';
import type { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { InvalidInputError, NotFoundError, PreconditionFailedError } from '../errors.js';
import type { ConfigVersion, ConfigVersionRepository } from '../store/config-version-repository.js';
import { isUniqueViolation } from '../store/operation-repository.js';
import type { OutboxRepository } from '../store/outbox-repository.js';
import type { Page } from '../store/rows.js';
import type { Database } from '../store/schema.js';
import { checkValue, diffConfig, flatten, parsePath, setAt, unsetAt, type ConfigDiff, type ConfigMap } from './config-path.js';

export interface ConfigChange {
  /** Plain values by path. */
  set?: Record<string, unknown>;
  /** Secret values by path: encrypted before they are stored. */
  secrets?: Record<string, string>;
  unset?: string[];
  message?: string;
}

/** A change whose secrets are encrypted already: what a transaction can apply without the engine. */
export interface PreparedChange {
  config: (base: ConfigMap) => ConfigMap;
  message: string | null;
}

/** A version as callers see it: values by path, secrets as "[secret]". */
export interface ConfigVersionView {
  environment: string;
  version: number;
  values: Record<string, unknown>;
  author: string;
  createdAt: string;
  message: string | null;
}

export class ConfigVersions {
  /** The stack file digests this process has brought in (or found brought in). */
  private readonly fileDigests = new Map<string, string>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
    private readonly versions: ConfigVersionRepository,
    private readonly catalog: EnvironmentCatalog,
    private readonly engine: Engine,
    private readonly governance: Governance,
    private readonly outbox: OutboxRepository,
  ) {}

  /**
   * Brings the stack file in as a new version when its digest differs from the last one
   * brought in (version 1 on first start). Looked at on start-up and before each operation is
   * queued; logged, since it changes what the next update runs.
   */
  async importFile(environment: string): Promise<void> {
    const file = this.catalog.stackConfig(environment);
    if (this.fileDigests.get(environment) === file.digest) return;
    if ((await this.versions.lastFileDigest(environment)) !== file.digest) {
      try {
        const created = await this.db.transaction().execute(async (tx) => {
          const latest = await this.versions.latest(environment, tx);
          const version = await this.versions.insert(tx, {
            environment, version: (latest?.version ?? 0) + 1, config: file.config, encryptionSalt: file.encryptionSalt ?? null,
            author: 'file', message: `brought in from the stack file Pulumi.${environment}.yaml`, fileDigest: file.digest,
          });
          await this.outbox.append(tx, { kind: 'config.changed', environment, payload: { version: version.version, author: 'file' } });
          return version;
        });
        this.log.info({ environment, version: created.version, digest: file.digest }, 'brought the changed stack file in as a new configuration version');
      } catch (error) {
        if (!isUniqueViolation(error)) throw error; // another replica brought it in first
      }
    }
    this.fileDigests.set(environment, file.digest);
  }

  async latest(environment: string, db?: Kysely<Database>): Promise<ConfigVersion> {
    const latest = await this.versions.latest(environment, db);
    if (!latest) throw new NotFoundError('config_version_not_found', `environment ${environment} has no configuration yet`);
    return latest;
  }

  async version(environment: string, version: number, db?: Kysely<Database>): Promise<ConfigVersion> {
    const found = await this.versions.get(environment, version, db);
    if (!found) throw new NotFoundError('config_version_not_found', `environment ${environment} has no configuration version ${version}`, { field: 'version' });
    return found;
  }

  async get(actor: Actor, environment: string, version?: number): Promise<ConfigVersionView> {
    await this.authorizeRead(actor, environment, 'getConfig');
    await this.importFile(environment);
    return this.view(version === undefined ? await this.latest(environment) : await this.version(environment, version));
  }

  async list(actor: Actor, environment: string, limit: number, cursor?: string): Promise<Page<ConfigVersionView>> {
    await this.authorizeRead(actor, environment, 'listConfigVersions');
    const page = await this.versions.list(environment, limit, cursor);
    return { items: page.items.map((v) => this.view(v)), nextCursor: page.nextCursor };
  }

  async diff(actor: Actor, environment: string, from: number, to: number): Promise<ConfigDiff & { from: number; to: number }> {
    await this.authorizeRead(actor, environment, 'diffConfig');
    const [a, b] = [await this.version(environment, from), await this.version(environment, to)];
    return { from, to, ...diffConfig(a.config, b.config, this.catalog.project) };
  }

  /** PATCH: a new version from the latest, refused (412) when `ifMatch` is no longer the latest. */
  async change(actor: Actor, environment: string, ifMatch: number, change: ConfigChange): Promise<ConfigVersionView> {
    const action = { name: 'changeConfig', target: `environment:${environment}`, environment, permission: 'operate' as const };
    await this.governance.authorize(actor, action);
    this.catalog.require(environment);
    await this.importFile(environment);
    const prepared = await this.prepare(environment, change);
    const created = await this.governance.act(actor, action, async (tx) => {
      const latest = await this.latest(environment, tx);
      if (latest.version !== ifMatch) {
        throw new PreconditionFailedError('config_version_stale', `configuration version ${ifMatch} is not the latest (${latest.version}): read it again and reapply your change`, { latest: latest.version });
      }
      return this.create(tx, environment, latest, prepared, actor.principal);
    });
    return this.view(created);
  }

  /** Validates a change and encrypts its secrets (outside any transaction: it runs the CLI). */
  async prepare(environment: string, change: ConfigChange): Promise<PreparedChange> {
    const project = this.catalog.project;
    const sets = Object.entries(change.set ?? {}).map(([path, value]) => {
      checkValue(value, `set.${path}`);
      return { path: parsePath(path, project, `set.${path}`), value };
    });
    const secretEntries = Object.entries(change.secrets ?? {});
    const secretPaths = secretEntries.map(([path]) => parsePath(path, project, `secrets.${path}`));
    const unsets = (change.unset ?? []).map((path, i) => parsePath(path, project, `unset[${i}]`));
    if (!sets.length && !secretPaths.length && !unsets.length) throw new InvalidInputError('empty_config_change', 'the change sets, secrets and unsets nothing', { field: 'set' });
    const latest = await this.latest(environment);
    const ciphertexts = secretEntries.length
      ? await this.engine.encryptSecrets(environment, secretEntries.map(([, value]) => value), latest.encryptionSalt ?? undefined)
      : [];
    return {
      message: change.message ?? null,
      config: (base) => {
        let config = base;
        for (const path of unsets) config = unsetAt(config, path);
        for (const { path, value } of sets) config = setAt(config, path, value);
        secretPaths.forEach((path, i) => { config = setAt(config, path, { secure: ciphertexts[i] }); });
        return config;
      },
    };
  }

  /** Writes the version after `base` in `tx`, announcing it in the outbox. */
  async create(tx: Kysely<Database>, environment: string, base: ConfigVersion, change: PreparedChange, author: string): Promise<ConfigVersion> {
    const version = await this.versions.insert(tx, {
      environment, version: base.version + 1, config: change.config(base.config), encryptionSalt: base.encryptionSalt,
      author, message: change.message, fileDigest: null,
    });
    await this.outbox.append(tx, { kind: 'config.changed', environment, payload: { version: version.version, author } });
    return version;
  }

  view(version: ConfigVersion): ConfigVersionView {
    return {
      environment: version.environment, version: version.version, values: flatten(version.config, this.catalog.project),
      author: version.author, createdAt: version.createdAt, message: version.message,
    };
  }

  private async authorizeRead(actor: Actor, environment: string, name: string): Promise<void> {
    await this.governance.authorize(actor, { name, target: `environment:${environment}`, environment, permission: 'read' });
    this.catalog.require(environment);
  }
}
