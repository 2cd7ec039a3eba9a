// Infrastructure of the local environments (development, testing): the toolchain's Kubernetes
// cluster, with PostgreSQL as an in-cluster StatefulSet on its real node (the database image
// built by `npm run images`). Its data lives in an emptyDir: the local cluster has no storage
// provisioner, and these environments hold test data only. The Service is headless: the real
// node's DNS resolves it to the pod's own address, and there is no kube-proxy to route a
// ClusterIP.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { imagePullPolicyOf, placementOf } from './placement';
import type { Settings } from './settings';

export interface LocalDatabase {
  provider: k8s.Provider;
  host: pulumi.Output<string>;
  port: number;
}

export function localInfrastructure(settings: Settings, password: pulumi.Output<string>, parent: pulumi.Resource): LocalDatabase {
  // No kubeconfig in config: the provider reads KUBECONFIG, which the service sets to the local cluster.
  const provider = new k8s.Provider('local-cluster', { kubeconfig: settings.kubeconfig }, { parent });
  const opts = { parent, provider };
  const ns = new k8s.core.v1.Namespace('data', { metadata: { name: `${settings.namespace}-data` } }, opts);
  const namespace = ns.metadata.name;
  const labels = { app: 'postgres', environment: settings.environment };

  const credentials = new k8s.core.v1.Secret('postgres-credentials', {
    metadata: { namespace },
    stringData: { POSTGRES_USER: settings.database.user, POSTGRES_PASSWORD: password, POSTGRES_DB: settings.database.name },
  }, opts);

  const service = new k8s.core.v1.Service('postgres', {
    metadata: { namespace, name: 'postgres', labels },
    spec: { selector: labels, ports: [{ name: 'postgres', port: 5432, targetPort: 5432 }], clusterIP: 'None' },
  }, opts);

  new k8s.apps.v1.StatefulSet('postgres', {
    metadata: { namespace, name: 'postgres', labels },
    spec: {
      serviceName: service.metadata.name,
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          ...placementOf(settings),
          automountServiceAccountToken: false,
          containers: [{
            name: 'postgres',
            image: settings.database.image,
            imagePullPolicy: imagePullPolicyOf(settings),
            ports: [{ containerPort: 5432, name: 'postgres' }],
            envFrom: [{ secretRef: { name: credentials.metadata.name } }],
            readinessProbe: { exec: { command: ['pg_isready', '-U', settings.database.user] }, periodSeconds: 5 },
            livenessProbe: { tcpSocket: { port: 5432 }, initialDelaySeconds: 15, periodSeconds: 10 },
            resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
            volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
          }],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    },
  }, opts);

  return { provider, host: pulumi.interpolate`${service.metadata.name}.${namespace}.svc.cluster.local`, port: 5432 };
}
