// Promotion, the phased rollout: an environment takes the promotable keys (the images, by
// default) of the current release of the environment before it in the pipeline, as a new
// configuration version, and an update of the same program is queued in the same
// transaction. Approval rules apply to it like to any update.
import type { Actor } from '../auth/actor.js';
import type { Governance } from '../auth/governance.js';
import type { EnvironmentCatalog } from '../environments/environment-catalog.js';
import { ConflictError, InvalidInputError } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import type { OperationService } from '../operations/operation-service.js';
import type { Release } from '../store/release-repository.js';
import { isSecure, parsePath, setAt, valueAt, type ConfigMap } from './config-path.js';
import type { ConfigVersions } from './config-versions.js';
import type { ReleasePolicy } from './release-policy.js';
import type { Releases } from './releases.js';

export interface PipelineStage {
  environment: string;
  currentRelease: Release | null;
  /** What promoting the stage before it into this one would change, by key: [now, after]. */
  promotion: { from: string; release: string; changes: Record<string, [unknown, unknown]> } | null;
}

export class Promotions {
  constructor(
    private readonly releases: Releases,
    private readonly versions: ConfigVersions,
    private readonly operations: OperationService,
    private readonly catalog: EnvironmentCatalog,
    private readonly governance: Governance,
    private readonly policy: ReleasePolicy,
    /** Whether an environment has health checks: then only a verified release leaves it. */
    private readonly needsVerified: (environment: string) => Promise<boolean>,
  ) {}

  async promote(actor: Actor, environment: string, request: { from?: string; message?: string }): Promise<Operation> {
    const action = { name: 'promote', target: `environment:${environment}`, environment, permission: 'operate' as const };
    await this.governance.authorize(actor, action);
    this.catalog.require(environment);
    await this.versions.importFile(environment);
    const from = this.source(environment, request.from);
    const release = await this.releases.current(from);
    if (!release) throw new ConflictError('no_current_release', `${from} has no current release to promote: deploy it first`);
    if (release.verification !== 'verified' && await this.needsVerified(from)) {
      throw await this.governance.refuse(actor, action, new ConflictError('release_not_verified',
        `${from}'s current release ${release.number} is ${release.verification ?? 'not verified'}: ${from} has health checks, so only a verified release is promoted out of it`));
    }
    const carried = await this.carried(release);
    const operation = await this.governance.act(actor, action, async (tx) => {
      const latest = await this.versions.latest(environment, tx);
      const version = await this.versions.create(tx, environment, latest, {
        config: (base) => Object.entries(carried).reduce((config, [key, value]) => setAt(config, parsePath(key, this.catalog.project, 'promotableKeys'), value), base),
        message: request.message ?? `promoted from ${from} release ${release.number}`,
      }, actor.principal);
      return this.operations.queue(tx, actor, environment, {
        type: 'update', spec: { scope: 'all', promotion: { from, release: release.id } }, configVersion: version.version, programDigest: release.programDigest,
        message: request.message ?? `promote ${from} release ${release.number}`,
      });
    });
    this.operations.kick();
    return operation;
  }

  /** Each pipeline environment's current release, and what a promotion into it would change. */
  async pipeline(actor: Actor): Promise<PipelineStage[]> {
    const visible = this.policy.pipeline.filter((name) => this.governance.canRead(actor, name));
    return Promise.all(visible.map(async (environment) => {
      const currentRelease = (await this.releases.current(environment)) ?? null;
      const from = this.policy.previous(environment);
      const source = from && this.governance.canRead(actor, from) ? await this.releases.current(from) : undefined;
      if (!from || !source) return { environment, currentRelease, promotion: null };
      const carried = await this.carried(source);
      const now = (await this.versions.latest(environment)).config;
      const changes = Object.fromEntries(Object.entries(carried)
        .map(([key, value]) => [key, [valueAt(now, key, this.catalog.project) ?? null, value]] as [string, [unknown, unknown]])
        .filter(([, [was, will]]) => JSON.stringify(was) !== JSON.stringify(will)));
      return { environment, currentRelease, promotion: { from, release: source.id, changes } };
    }));
  }

  /** `from`, checked against the pipeline: an environment before `environment`. */
  private source(environment: string, from?: string): string {
    const pipeline = this.policy.pipeline;
    const to = pipeline.indexOf(environment);
    if (to === -1) throw new InvalidInputError('not_in_pipeline', `${environment} is not in the pipeline (${pipeline.join(' → ')})`, { field: 'env' });
    const source = from ?? this.policy.previous(environment);
    if (!source) throw new InvalidInputError('promotion_out_of_order', `${environment} is first in the pipeline: nothing is promoted into it`, { field: 'from' });
    this.catalog.require(source);
    const at = pipeline.indexOf(source);
    if (at === -1 || at >= to) {
      throw new InvalidInputError('promotion_out_of_order', `${source} does not come before ${environment} in the pipeline (${pipeline.join(' → ')})`, { field: 'from' });
    }
    return source;
  }

  /** The promotable keys' values in a release's configuration (a secret is never promoted: its ciphertext belongs to its stack). */
  private async carried(release: Release): Promise<Record<string, unknown>> {
    const config: ConfigMap = (await this.versions.version(release.environment, release.configVersion)).config;
    const out: Record<string, unknown> = {};
    for (const key of this.policy.promotableKeys) {
      const value = valueAt(config, key, this.catalog.project);
      if (value === undefined) continue;
      if (isSecure(value)) throw new ConflictError('promotable_key_is_secret', `${key} is a secret in ${release.environment}: secrets are set per environment, not promoted`);
      out[key] = value;
    }
    return out;
  }
}
