// What was released where. A succeeded update records a release in the same transaction as
// its final status: the configuration version and program it ran, the images that version
// sets, who asked and who approved. Callers read an environment's releases here.
import type { Kysely } from 'kysely';
import type { Actor } from '../auth/actor.js';
import type { Governance } from '../auth/governance.js';
import type { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { NotFoundError } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import type { ConfigVersionRepository } from '../store/config-version-repository.js';
import type { OutboxRepository } from '../store/outbox-repository.js';
import type { Release, ReleaseRepository } from '../store/release-repository.js';
import type { Page } from '../store/rows.js';
import type { Database } from '../store/schema.js';
import { flatten, type ConfigMap } from './config-path.js';

/** The workload image settings of a configuration: every value at a path ending in `image`. */
export function imagesOf(config: ConfigMap, project: string): Record<string, string> {
  return Object.fromEntries(Object.entries(flatten(config, project)).filter(([path, value]) => /(^|\.)image$/.test(path) && typeof value === 'string')) as Record<string, string>;
}

export class Releases {
  constructor(
    private readonly releases: ReleaseRepository,
    private readonly versions: ConfigVersionRepository,
    private readonly catalog: EnvironmentCatalog,
    private readonly governance: Governance,
    private readonly outbox: OutboxRepository,
  ) {}

  /** Records the release a succeeded update made, in the transaction that finishes it. */
  async record(tx: Kysely<Database>, operation: Operation): Promise<Release> {
    const version = operation.configVersion === null ? undefined : await this.versions.get(operation.environment, operation.configVersion, tx);
    const { release, replaced } = await this.releases.record(tx, {
      environment: operation.environment, configVersion: operation.configVersion ?? 0, programDigest: operation.programDigest ?? '',
      images: version ? imagesOf(version.config, this.catalog.project) : {}, operationId: operation.id, requestedBy: operation.requestedBy,
      approvedBy: (operation.plan?.approvals ?? []).filter((a) => a.decision === 'approve').map((a) => a.principal),
    }, operation.spec.rollback ? 'rolled_back' : 'superseded');
    await this.outbox.append(tx, {
      kind: 'release.created', environment: operation.environment, operationId: operation.id,
      payload: { releaseId: release.id, number: release.number, images: release.images, replaced: replaced ? { releaseId: replaced.id, status: replaced.status } : null },
    });
    return release;
  }

  current(environment: string): Promise<Release | undefined> {
    return this.releases.current(environment);
  }

  /** The newest release before release `number` that was not rolled back. */
  previous(environment: string, number: number): Promise<Release | undefined> {
    return this.releases.previous(environment, number);
  }

  async list(actor: Actor, environment: string, limit: number, cursor?: string): Promise<Page<Release>> {
    await this.authorizeRead(actor, environment, 'listReleases');
    return this.releases.list(environment, limit, cursor);
  }

  async get(actor: Actor, environment: string, id: string): Promise<Release> {
    await this.authorizeRead(actor, environment, 'getRelease');
    return this.find(environment, id);
  }

  async find(environment: string, id: string): Promise<Release> {
    const release = await this.releases.get(environment, id);
    if (!release) throw new NotFoundError('release_not_found', `environment ${environment} has no release ${id}`);
    return release;
  }

  private async authorizeRead(actor: Actor, environment: string, name: string): Promise<void> {
    await this.governance.authorize(actor, { name, target: `environment:${environment}`, environment, permission: 'read' });
    this.catalog.require(environment);
  }
}
