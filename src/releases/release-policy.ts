// The rules releases follow, from configuration: the pipeline's order, which environments need
// approval and how much of it, and which keys a promotion carries.
export interface ReleasePolicyOptions {
  pipeline: readonly string[];
  protectedEnvironments: readonly string[];
  requiredApprovals: number;
  approvalTtlSeconds: number;
  secondFactorApprovalEnvironments: readonly string[];
  promotableKeys: readonly string[];
  emergencyRollbackEnvironments: readonly string[];
}

export class ReleasePolicy {
  constructor(private readonly options: ReleasePolicyOptions, environments: readonly string[]) {
    // The pipeline only orders environments that exist.
    this.pipeline = options.pipeline.filter((name) => environments.includes(name));
  }

  readonly pipeline: readonly string[];

  /** Updates and destroys there plan first and wait for approval. */
  isProtected(environment: string): boolean {
    return this.options.protectedEnvironments.includes(environment);
  }

  get approvalsNeeded(): number {
    return this.options.requiredApprovals;
  }

  get approvalTtlMs(): number {
    return this.options.approvalTtlSeconds * 1000;
  }

  approvalNeedsSecondFactor(environment: string): boolean {
    return this.options.secondFactorApprovalEnvironments.includes(environment);
  }

  get promotableKeys(): readonly string[] {
    return this.options.promotableKeys;
  }

  allowsEmergencyRollback(environment: string): boolean {
    return this.options.emergencyRollbackEnvironments.includes(environment);
  }

  /** The environment before `environment` in the pipeline, if any. */
  previous(environment: string): string | undefined {
    const i = this.pipeline.indexOf(environment);
    return i > 0 ? this.pipeline[i - 1] : undefined;
  }
}
