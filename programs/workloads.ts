// The application on Kubernetes, the same in every environment but for its config: a
// namespace, a ConfigMap, the database credentials as a Secret built from a Pulumi secret,
// backend and frontend Deployments (probes, requests and limits, rolling updates that never
// go below the desired replicas), Services, an Ingress, and where the environment asks for
// it, a PodDisruptionBudget and a HorizontalPodAutoscaler per Deployment. Local pods run on
// the cluster's real node (placement.ts), so their probes, crashes and rollouts are real.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { imagePullPolicyOf, placementOf } from './placement';
import type { AppSettings, Settings } from './settings';

export interface WorkloadInputs {
  kubeconfig?: pulumi.Input<string>;
  databaseHost: pulumi.Input<string>;
  databasePort: number;
  databasePassword: pulumi.Output<string>;
}

export class Workloads extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly url: string;

  constructor(settings: Settings, inputs: WorkloadInputs, opts?: pulumi.ComponentResourceOptions) {
    super('stackpilot:scope:Workloads', 'workloads', {}, opts);
    const provider = new k8s.Provider('workloads-cluster', { kubeconfig: inputs.kubeconfig }, { parent: this });
    const child = { parent: this, provider };
    const ns = new k8s.core.v1.Namespace('app', { metadata: { name: settings.namespace, labels: { environment: settings.environment } } }, child);
    this.namespace = ns.metadata.name;
    const namespace = this.namespace;

    const config = new k8s.core.v1.ConfigMap('app-config', {
      metadata: { namespace },
      data: {
        APP_ENV: settings.environment,
        DEBUG: String(settings.debug),
        LOG_LEVEL: settings.debug ? 'debug' : 'info',
        DATABASE_HOST: inputs.databaseHost,
        DATABASE_PORT: String(inputs.databasePort),
        DATABASE_NAME: settings.database.name,
      },
    }, child);
    const credentials = new k8s.core.v1.Secret('database-credentials', {
      metadata: { namespace },
      stringData: { DATABASE_USER: settings.database.user, DATABASE_PASSWORD: inputs.databasePassword },
    }, child);

    // The backend is ready only while its database answers (its /readyz says so).
    const backend = this.app('backend', settings.backend, settings, { port: 8000, ready: '/readyz', live: '/healthz' }, [
      { configMapRef: { name: config.metadata.name } }, { secretRef: { name: credentials.metadata.name } },
    ], child);
    const frontend = this.app('frontend', settings.frontend, settings, { port: 8080, ready: '/', live: '/healthz' },
      [{ configMapRef: { name: config.metadata.name } }], child);

    new k8s.networking.v1.Ingress('app', {
      metadata: {
        namespace,
        annotations: settings.platform === 'local'
          // The local cluster has no ingress controller, so no address ever comes: don't wait for one.
          ? { 'pulumi.com/skipAwait': 'true' }
          : { 'alb.ingress.kubernetes.io/scheme': 'internet-facing', 'alb.ingress.kubernetes.io/target-type': 'ip' },
      },
      spec: {
        ingressClassName: settings.platform === 'local' ? 'nginx' : 'alb',
        rules: [{
          host: settings.host,
          http: {
            paths: [
              { path: '/api', pathType: 'Prefix', backend: { service: { name: backend.metadata.name, port: { name: 'http' } } } },
              { path: '/', pathType: 'Prefix', backend: { service: { name: frontend.metadata.name, port: { name: 'http' } } } },
            ],
          },
        }],
      },
    }, child);

    this.url = `https://${settings.host}`;
    this.registerOutputs({ namespace: this.namespace, url: this.url });
  }

  private app(
    name: string, app: AppSettings, settings: Settings, http: { port: number; ready: string; live: string },
    envFrom: k8s.types.input.core.v1.EnvFromSource[], opts: pulumi.CustomResourceOptions,
  ): k8s.core.v1.Service {
    const labels = { app: name, environment: settings.environment };
    const namespace = this.namespace;
    const deadline = settings.rolloutDeadlineSeconds;
    // Fixed names: other services and operators find them by these.
    const deployment = new k8s.apps.v1.Deployment(name, {
      metadata: {
        namespace, name, labels,
        // What the program sets, it owns: an update (a drift remediation above all) takes back a
        // field someone changed by hand (kubectl scale, set image) instead of failing on the
        // Server-Side Apply conflict. Fields it leaves alone (replicas under an autoscaler) keep
        // their owner.
        annotations: { 'pulumi.com/patchForce': 'true' },
      },
      spec: {
        // An autoscaled Deployment's replica count belongs to its HorizontalPodAutoscaler: set
        // here, every update would reset the autoscaler's choice.
        ...(settings.autoscaling ? {} : { replicas: app.replicas }),
        selector: { matchLabels: labels },
        // A new pod must be Ready before an old one goes: capacity never drops below replicas.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        ...(deadline ? { progressDeadlineSeconds: deadline } : {}),
        template: {
          metadata: { labels },
          spec: {
            ...placementOf(settings),
            automountServiceAccountToken: false, // the app never calls the Kubernetes API
            containers: [{
              name,
              image: app.image,
              imagePullPolicy: imagePullPolicyOf(settings),
              ports: [{ name: 'http', containerPort: http.port }],
              envFrom,
              readinessProbe: { httpGet: { path: http.ready, port: 'http' }, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { httpGet: { path: http.live, port: 'http' }, initialDelaySeconds: 10, periodSeconds: 10 },
              resources: { requests: { cpu: app.cpu, memory: app.memory }, limits: { cpu: app.cpuLimit, memory: app.memoryLimit } },
            }],
          },
        },
      },
    }, {
      ...opts,
      // The provider waits for the rollout; once Kubernetes has given up on it (the deadline
      // above), waiting longer only delays the error, which then carries Kubernetes' verdict.
      ...(deadline ? { customTimeouts: { create: `${deadline + 30}s`, update: `${deadline + 30}s` } } : {}),
    });
    if (settings.minAvailable !== undefined) {
      new k8s.policy.v1.PodDisruptionBudget(name, {
        metadata: { namespace },
        spec: { minAvailable: settings.minAvailable, selector: { matchLabels: labels } },
      }, opts);
    }
    if (settings.autoscaling) {
      new k8s.autoscaling.v2.HorizontalPodAutoscaler(name, {
        metadata: { namespace },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name },
          minReplicas: settings.autoscaling.minReplicas,
          maxReplicas: settings.autoscaling.maxReplicas,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: settings.autoscaling.cpuUtilization } } }],
        },
      }, opts);
    }
    return new k8s.core.v1.Service(name, {
      metadata: { namespace, name, labels },
      spec: { type: 'ClusterIP', selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    }, opts);
  }
}
