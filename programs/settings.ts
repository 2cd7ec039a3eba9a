// Everything that differs between environments, read from the stack's config
// (stacks/Pulumi.<env>.yaml) with its defaults and limits in one place.
import * as pulumi from '@pulumi/pulumi';

export type Platform = 'local' | 'aws';

export interface AppSettings {
  image: string;
  replicas: number;
  cpu: string;
  memory: string;
  cpuLimit: string;
  memoryLimit: string;
}

export interface Autoscaling {
  minReplicas: number;
  maxReplicas: number;
  cpuUtilization: number;
}

export interface DatabaseSettings {
  /** The in-cluster PostgreSQL image (local environments; the cloud uses RDS). */
  image?: string;
  name: string;
  user: string;
  storageGb: number;
  /** Recovery point objective: how much data, in hours, the strategy accepts to lose. */
  rpoHours: number;
  /** Days of automated backups kept (RDS), at least 1: point-in-time recovery within them meets any RPO of minutes or more. */
  backupRetentionDays: number;
  instanceClass: string;
  multiAz: boolean;
}

export interface AwsSettings {
  region: string;
  vpcCidr: string;
  availabilityZones: string[];
  nodeInstanceType: string;
  nodeCount: { min: number; desired: number; max: number };
  kubernetesVersion: string;
  /** Name of the ALB the ingress controller creates, watched by the 5xx alarm. */
  loadBalancerName: string;
}

export interface Settings {
  project: string;
  environment: string;
  platform: Platform;
  owner: string;
  debug: boolean;
  host: string;
  namespace: string;
  backend: AppSettings;
  frontend: AppSettings;
  database: DatabaseSettings;
  autoscaling?: Autoscaling;
  /** PodDisruptionBudget minAvailable, for environments that must survive node drains. */
  minAvailable?: number;
  kubeconfig?: string;
  aws?: AwsSettings;
  /** Local environments: run on the cluster's real node (the default) or its simulated ones. */
  localNode?: 'real' | 'simulated';
  /**
   * How long a rollout may go without progress before Kubernetes marks it failed; the update
   * fails shortly after, naming the Deployment and its unready pods. Kubernetes' default is 600.
   */
  rolloutDeadlineSeconds?: number;
}

export function readSettings(config = new pulumi.Config()): Settings {
  const environment = pulumi.getStack();
  const platform = config.require('platform') as Platform;
  if (platform !== 'local' && platform !== 'aws') throw new Error(`platform must be local or aws, not ${platform}`);
  const database = config.requireObject<DatabaseSettings>('database');
  // RDS turns automated backups (and point-in-time recovery) off at 0 days: keep at least one.
  if (database.backupRetentionDays < 1) throw new Error('database.backupRetentionDays must be at least 1');
  const settings: Settings = {
    project: pulumi.getProject(),
    environment,
    platform,
    owner: config.require('owner'),
    debug: config.getBoolean('debug') ?? false,
    host: config.require('host'),
    namespace: config.get('namespace') ?? `toronto-ai-${environment}`,
    backend: config.requireObject<AppSettings>('backend'),
    frontend: config.requireObject<AppSettings>('frontend'),
    database,
    autoscaling: config.getObject<Autoscaling>('autoscaling'),
    minAvailable: config.getNumber('minAvailable'),
    kubeconfig: config.get('kubeconfig'),
    aws: config.getObject<AwsSettings>('aws'),
    localNode: (config.get('localNode') ?? 'real') as Settings['localNode'],
    rolloutDeadlineSeconds: config.getNumber('rolloutDeadlineSeconds'),
  };
  if (platform === 'aws' && !settings.aws) throw new Error('platform aws needs the aws settings');
  if (settings.localNode !== 'real' && settings.localNode !== 'simulated') throw new Error(`localNode must be real or simulated, not ${settings.localNode}`);
  if (platform === 'local' && !database.image) throw new Error('database.image must be set for local environments (their PostgreSQL runs in the cluster)');
  return settings;
}

/** Tags every AWS resource carries (set as the provider's default tags). */
export function tagsOf(settings: Settings): Record<string, string> {
  return { environment: settings.environment, owner: settings.owner, project: settings.project, 'managed-by': 'stackpilot' };
}
