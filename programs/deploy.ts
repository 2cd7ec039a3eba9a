// The TORONTO AI TEAM AGENT: two layers, each a component the service can target on its own
// (scope infrastructure or workloads), configured per environment by stacks/Pulumi.<env>.yaml.
import { createHash } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import { awsInfrastructure } from './aws-infrastructure';
import { localInfrastructure } from './local-infrastructure';
import { readSettings, type Settings } from './settings';
import { Workloads } from './workloads';

export class Infrastructure extends pulumi.ComponentResource {
  readonly kubeconfig?: pulumi.Output<string>;
  readonly databaseHost: pulumi.Output<string>;
  readonly databasePort: number;
  readonly backupBucket?: pulumi.Output<string>;
  readonly alarms: pulumi.Output<string>[] = [];

  constructor(settings: Settings, password: pulumi.Output<string>, opts?: pulumi.ComponentResourceOptions) {
    super('stackpilot:scope:Infrastructure', 'infrastructure', {}, opts);
    if (settings.platform === 'aws') {
      const cloud = awsInfrastructure(settings, password, this);
      this.kubeconfig = cloud.kubeconfig;
      this.databaseHost = cloud.databaseHost;
      this.databasePort = cloud.databasePort;
      this.backupBucket = cloud.backupBucket;
      this.alarms = cloud.alarms;
    } else {
      const local = localInfrastructure(settings, password, this);
      this.databaseHost = local.host;
      this.databasePort = local.port;
    }
    this.registerOutputs({ databaseHost: this.databaseHost });
  }
}

/**
 * The database password: a Pulumi secret from config, required in the cloud. Local
 * environments, whose databases hold test data on a throwaway cluster, fall back to one
 * derived from the stack's name, still handled as a secret so it never reaches an output.
 */
function databasePassword(settings: Settings): pulumi.Output<string> {
  const configured = new pulumi.Config().getSecret('databasePassword');
  if (configured) return configured;
  if (settings.platform === 'aws') throw new Error('databasePassword must be set (as a secret) for cloud environments');
  return pulumi.secret(createHash('sha256').update(`${settings.project}/${settings.environment}/local`).digest('base64url'));
}

export function deploy() {
  const settings = readSettings();
  const password = databasePassword(settings);
  const infrastructure = new Infrastructure(settings, password);
  const workloads = new Workloads(settings, {
    kubeconfig: infrastructure.kubeconfig ?? settings.kubeconfig,
    databaseHost: infrastructure.databaseHost,
    databasePort: infrastructure.databasePort,
    databasePassword: password,
  });
  return {
    url: workloads.url,
    namespace: workloads.namespace,
    backendImage: settings.backend.image,
    frontendImage: settings.frontend.image,
    databaseEndpoint: pulumi.interpolate`${infrastructure.databaseHost}:${infrastructure.databasePort}`,
    ...(infrastructure.backupBucket ? { backupBucket: infrastructure.backupBucket } : {}),
    ...(infrastructure.alarms.length ? { rollbackAlarms: pulumi.all(infrastructure.alarms) } : {}),
  };
}
