// The TORONTO AI TEAM AGENT program, all four environments, with Pulumi's own mocks: AWS cannot
// be reached from here, so this is where staging and production are checked. Each environment
// runs the real program with its real stack file; the mocks only stand in for the providers.
import * as pulumi from '@pulumi/pulumi';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspaces } from '../../src/engine/workspace.js';
import { ProgramSnapshots } from '../../src/releases/program-snapshots.js';
import { repoDir } from '../support/programs.js';

const PROJECT = 'toronto-ai-team-agent';
const ENVIRONMENTS = ['development', 'testing', 'staging', 'production'] as const;
const PASSWORD = 'mock-db-password-canary-7c1e';

interface Registered { type: string; name: string; inputs: Record<string, any> }

type Deploy = () => unknown;
const fromSources = async (): Promise<Deploy> => (await import('../../programs/deploy.js')).deploy;

async function runProgram(environment: string, overrides: Record<string, string> = {}, load: () => Promise<Deploy> = fromSources): Promise<{ resources: Registered[]; outputs: Record<string, unknown> }> {
  const stackFile = parse(readFileSync(join(repoDir, 'stacks', `Pulumi.${environment}.yaml`), 'utf8')) as { config: Record<string, unknown> };
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(stackFile.config)) config[key] = typeof value === 'string' ? value : JSON.stringify(value);
  for (const [key, value] of Object.entries(overrides)) config[`${PROJECT}:${key}`] = value;
  config[`${PROJECT}:databasePassword`] = PASSWORD;
  pulumi.runtime.setAllConfig(config, [`${PROJECT}:databasePassword`]);

  const resources: Registered[] = [];
  await pulumi.runtime.setMocks({
    newResource: (args) => {
      resources.push({ type: args.type, name: args.name, inputs: args.inputs });
      const state: Record<string, unknown> = { ...args.inputs };
      if (args.type === 'kubernetes:core/v1:Namespace' || args.type.startsWith('kubernetes:')) {
        state.metadata = { name: args.inputs.metadata?.name ?? `${args.name}-generated`, ...args.inputs.metadata };
      }
      if (args.type.startsWith('aws:')) state.arn = `arn:aws:mock:::${args.name}`;
      if (args.type === 'aws:rds/instance:Instance') state.address = `${args.inputs.identifier}.db.example`;
      if (args.type === 'aws:eks/cluster:Cluster') Object.assign(state, { endpoint: 'https://eks.example', certificateAuthority: { data: 'Q0E=' } });
      if (args.type === 'aws:s3/bucket:Bucket') state.bucket = `${args.name}-bucket`;
      if (args.type === 'aws:ec2/vpc:Vpc') state.cidrBlock = args.inputs.cidrBlock;
      if (args.type === 'aws:cloudwatch/metricAlarm:MetricAlarm') state.name = `${args.name}-alarm`;
      return { id: `${args.name}-id`, state };
    },
    call: (args) => args.inputs,
  }, PROJECT, environment, false);

  const deploy = await load();
  const exported = deploy() as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exported)) {
    const output = pulumi.output(value as pulumi.Input<unknown>) as pulumi.Output<unknown>;
    outputs[key] = await new Promise((resolve) => output.apply(resolve));
  }
  await new Promise((r) => setTimeout(r, 50)); // let the last registrations land
  return { resources, outputs };
}

const results = new Map<string, Awaited<ReturnType<typeof runProgram>>>();
const of = (env: string) => results.get(env)!;
const byType = (env: string, type: string) => of(env).resources.filter((r) => r.type === type);
/** The pod specs of every Deployment and StatefulSet an environment declares, by name. */
const podSpecs = (env: string) => of(env).resources
  .filter((r) => r.type === 'kubernetes:apps/v1:Deployment' || r.type === 'kubernetes:apps/v1:StatefulSet')
  .map((r) => [r.name, r.inputs.spec.template.spec] as const);
const REAL_NODE_TOLERATION = { key: 'stackpilot.local/node', operator: 'Equal', value: 'real', effect: 'NoSchedule' };

describe('the TORONTO AI TEAM AGENT program, with mocks', () => {
  beforeAll(async () => {
    for (const env of ENVIRONMENTS) results.set(env, await runProgram(env));
  });

  it.each(ENVIRONMENTS)('%s: two layers, every workload resource inside one of them', (env) => {
    const types = of(env).resources.map((r) => r.type);
    expect(types).toContain('stackpilot:scope:Infrastructure');
    expect(types).toContain('stackpilot:scope:Workloads');
    for (const kind of ['Namespace', 'ConfigMap', 'Secret', 'Service']) expect(types).toContain(`kubernetes:core/v1:${kind}`);
    expect(byType(env, 'kubernetes:apps/v1:Deployment').map((d) => d.name).sort()).toEqual(['backend', 'frontend']);
    expect(byType(env, 'kubernetes:networking.k8s.io/v1:Ingress')).toHaveLength(1);
  });

  it.each(ENVIRONMENTS)('%s: Deployments have probes, requests and limits, and never roll below their replicas', (env) => {
    for (const deployment of byType(env, 'kubernetes:apps/v1:Deployment')) {
      expect(deployment.inputs.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
      const [container] = deployment.inputs.spec.template.spec.containers;
      expect(container.readinessProbe.httpGet).toBeDefined();
      expect(container.livenessProbe.httpGet).toBeDefined();
      expect(Object.keys(container.resources.requests)).toEqual(['cpu', 'memory']);
      expect(Object.keys(container.resources.limits)).toEqual(['cpu', 'memory']);
      expect(container.image).toMatch(/:\d+\.\d+\.\d+$/);
    }
  });

  it.each(ENVIRONMENTS)('%s: exposes the database password in no output, and keeps it a secret in the Secret', (env) => {
    expect(JSON.stringify(of(env).outputs)).not.toContain(PASSWORD);
    expect(of(env).outputs).toMatchObject({ url: expect.stringMatching(/^https:\/\//), namespace: expect.any(String), databaseEndpoint: expect.stringContaining(':5432') });
    const secret = byType(env, 'kubernetes:core/v1:Secret').find((s) => s.name === 'database-credentials')!;
    // The whole stringData travels as a Pulumi secret (the signature key marks it).
    expect(secret.inputs.stringData['4dabf18193072939515e22adb298388d']).toBe('1b47061264138c4ac30d75fd1eb44270');
    expect(secret.inputs.stringData.value).toEqual({ DATABASE_USER: 'toronto_ai', DATABASE_PASSWORD: expect.any(String) });
  });

  it.each(['development', 'testing'])('%s: every pod runs on the real node, from images loaded there', (env) => {
    const specs = podSpecs(env);
    expect(specs.map(([name]) => name).sort()).toEqual(['backend', 'frontend', 'postgres']);
    for (const [name, spec] of specs) {
      expect(spec.nodeSelector, name).toEqual({ 'stackpilot.local/node': 'real' });
      expect(spec.tolerations, name).toEqual([REAL_NODE_TOLERATION]);
      expect(spec.automountServiceAccountToken, name).toBe(false);
      const [container] = spec.containers;
      expect(container.imagePullPolicy, name).toBe('Never');
      expect(container.image, name).toMatch(/^registry\.toronto-ai\.local\/(backend|frontend|database):/);
    }
    const postgres = specs.find(([name]) => name === 'postgres')![1];
    expect(postgres.containers[0].image).toBe('registry.toronto-ai.local/database:15');
  });

  it.each(['development', 'testing'])('%s: the backend is ready only with its database, and a stalled rollout fails in bounded time', (env) => {
    const backend = byType(env, 'kubernetes:apps/v1:Deployment').find((d) => d.name === 'backend')!;
    const [container] = backend.inputs.spec.template.spec.containers;
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(backend.inputs.spec.progressDeadlineSeconds).toBe(env === 'development' ? 120 : 300);
  });

  it.each(['staging', 'production'])('%s: pods go where the scheduler puts them, pulling from the registry', (env) => {
    for (const [name, spec] of podSpecs(env)) {
      expect(spec.nodeSelector, name).toBeUndefined();
      expect(spec.tolerations, name).toBeUndefined();
      expect(spec.containers[0].imagePullPolicy, name).toBe('IfNotPresent');
    }
  });

  it('a local environment can be put on the simulated nodes instead', async () => {
    const simulated = await runProgram('development', { localNode: 'simulated' });
    const specs = simulated.resources.filter((r) => r.type === 'kubernetes:apps/v1:Deployment').map((r) => r.inputs.spec.template.spec);
    expect(specs).toHaveLength(2);
    for (const spec of specs) expect([spec.nodeSelector, spec.tolerations]).toEqual([undefined, undefined]);
  });

  it('refuses a local environment without a database image, and an unknown kind of node', async () => {
    await expect(runProgram('development', { database: JSON.stringify({ name: 'x', user: 'x', storageGb: 1, rpoHours: 24, backupRetentionDays: 1, instanceClass: 'in-cluster', multiAz: false }) }))
      .rejects.toThrow(/database\.image must be set/);
    await expect(runProgram('development', { localNode: 'somewhere' })).rejects.toThrow(/localNode must be real or simulated/);
  });

  it('development: one replica per Deployment, debug on, everything local', () => {
    expect(byType('development', 'kubernetes:apps/v1:Deployment').map((d) => d.inputs.spec.replicas)).toEqual([1, 1]);
    expect(byType('development', 'kubernetes:core/v1:ConfigMap')[0]!.inputs.data).toMatchObject({ DEBUG: 'true', LOG_LEVEL: 'debug' });
    expect(of('development').resources.filter((r) => r.type.startsWith('aws:'))).toEqual([]);
    expect(byType('development', 'kubernetes:apps/v1:StatefulSet').map((s) => s.name)).toEqual(['postgres']);
  });

  it('testing: several replicas, debug off, a disruption budget, still local', () => {
    expect(byType('testing', 'kubernetes:apps/v1:Deployment').map((d) => d.inputs.spec.replicas)).toEqual([2, 2]);
    expect(byType('testing', 'kubernetes:core/v1:ConfigMap')[0]!.inputs.data.DEBUG).toBe('false');
    expect(byType('testing', 'kubernetes:policy/v1:PodDisruptionBudget')).toHaveLength(2);
    expect(of('testing').resources.filter((r) => r.type.startsWith('aws:'))).toEqual([]);
  });

  it.each(['staging', 'production'])('%s: RDS is multi-AZ, protected, KMS-encrypted, backed up for the RPO, private', (env) => {
    const [db] = byType(env, 'aws:rds/instance:Instance');
    expect(db!.inputs).toMatchObject({
      multiAz: true, deletionProtection: true, storageEncrypted: true, publiclyAccessible: false,
      kmsKeyId: expect.any(String), backupRetentionPeriod: 14, skipFinalSnapshot: false, engine: 'postgres',
    });
    expect(byType(env, 'aws:kms/key:Key')[0]!.inputs.enableKeyRotation).toBe(true);
  });

  it.each(['staging', 'production'])('%s: every bucket is versioned, KMS-encrypted, aged out and blocks public access', (env) => {
    const buckets = byType(env, 'aws:s3/bucket:Bucket');
    expect(buckets.length).toBeGreaterThan(0);
    const perBucket = (type: string) => byType(env, type).filter((r) => buckets.some((b) => r.inputs.bucket === `${b.name}-id`));
    expect(perBucket('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock').map((b) => b.inputs)).toEqual(buckets.map(() => expect.objectContaining({
      blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
    })));
    expect(perBucket('aws:s3/bucketVersioning:BucketVersioning')[0]!.inputs.versioningConfiguration.status).toBe('Enabled');
    expect(perBucket('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration')[0]!.inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).toBe('aws:kms');
    expect(perBucket('aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration')).toHaveLength(buckets.length);
  });

  it.each(['staging', 'production'])('%s: VPC over at least two zones, EKS with a managed node group, alarms as rollback triggers, all tagged', (env) => {
    const zones = new Set(byType(env, 'aws:ec2/subnet:Subnet').map((s) => s.inputs.availabilityZone));
    expect(zones.size).toBeGreaterThanOrEqual(2);
    expect(byType(env, 'aws:ec2/subnet:Subnet').filter((s) => s.name.startsWith('private-'))).toHaveLength(zones.size);
    expect(byType(env, 'aws:eks/cluster:Cluster')).toHaveLength(1);
    expect(byType(env, 'aws:eks/nodeGroup:NodeGroup')[0]!.inputs.scalingConfig.minSize).toBeGreaterThanOrEqual(2);
    const alarms = byType(env, 'aws:cloudwatch/metricAlarm:MetricAlarm').map((a) => a.inputs.namespace);
    expect(alarms).toEqual(expect.arrayContaining(['AWS/RDS', 'AWS/ApplicationELB']));
    expect(of(env).outputs.rollbackAlarms).toHaveLength(alarms.length);
    const [provider] = byType(env, 'pulumi:providers:aws');
    expect(JSON.parse(provider!.inputs.defaultTags).tags).toMatchObject({ environment: env, owner: 'toronto-ai-team' });
    expect(byType(env, 'kubernetes:autoscaling/v2:HorizontalPodAutoscaler')).toHaveLength(2);
    expect(byType(env, 'kubernetes:policy/v1:PodDisruptionBudget')).toHaveLength(2);
  });

  it.each(['staging', 'production'])('%s: autoscaled Deployments leave their replica count to the autoscaler', (env) => {
    // A replica count set here would reset the autoscaler's choice on every update.
    for (const deployment of byType(env, 'kubernetes:apps/v1:Deployment')) expect(deployment.inputs.spec).not.toHaveProperty('replicas');
  });

  it('staging has the same shape and size as production', () => {
    const shape = (env: string) => of(env).resources.map((r) => `${r.type}::${r.name}`).sort();
    expect(shape('staging')).toEqual(shape('production'));
    const sizing = (env: string) => ({
      replicas: byType(env, 'kubernetes:apps/v1:Deployment').map((d) => d.inputs.spec.replicas),
      db: byType(env, 'aws:rds/instance:Instance').map((d) => [d.inputs.instanceClass, d.inputs.allocatedStorage, d.inputs.multiAz]),
      nodes: byType(env, 'aws:eks/nodeGroup:NodeGroup').map((n) => [n.inputs.instanceTypes, n.inputs.scalingConfig]),
      hpa: byType(env, 'kubernetes:autoscaling/v2:HorizontalPodAutoscaler').map((h) => [h.inputs.spec.minReplicas, h.inputs.spec.maxReplicas]),
    });
    expect(sizing('staging')).toEqual(sizing('production'));
  });
});

describe('the program\'s bundle, with mocks', () => {
  let root: string;
  let fromBundle: () => Promise<Deploy>;

  beforeAll(() => {
    // Compiled as the service compiles a snapshot, and required from an operation's workspace:
    // its @pulumi/pulumi is the one this test set the mocks on (the installed singleton).
    root = mkdtempSync(join(tmpdir(), 'stackpilot-program-bundle-'));
    const snapshots = new ProgramSnapshots(repoDir, join(root, 'programs'));
    const { programDir, modulesDir } = snapshots.runnable(snapshots.current());
    const workspace = new Workspaces(join(root, 'workspaces')).create('unit', 'development', programDir, {}, 'salt', modulesDir);
    fromBundle = async () => createRequire(import.meta.url)(join(workspace.dir, 'bundle', 'index.js')) as Deploy;
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.each(ENVIRONMENTS)('%s: registers the same resources and outputs as the sources', async (env) => {
    const bundled = await runProgram(env, {}, fromBundle);
    expect(bundled.resources.length).toBeGreaterThan(5);
    expect(bundled.resources).toEqual(of(env).resources);
    expect(bundled.outputs).toEqual(of(env).outputs);
  });
});

describe('the committed stack files', () => {
  it.each(ENVIRONMENTS)('%s carries no encryption salt: that belongs to one installation’s passphrase', (env) => {
    expect(readFileSync(join(repoDir, 'stacks', `Pulumi.${env}.yaml`), 'utf8')).not.toMatch(/^encryptionsalt:/m);
  });
});
