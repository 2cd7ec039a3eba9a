// The TORONTO AI TEAM AGENT on the local cluster's real node, through the service: an update of
// development really starts the backend, the frontend and PostgreSQL (containerd runs them);
// the backend answers and reaches its database; a bad release fails with an error naming the
// Deployment and its unready pods while the old pod keeps serving (watched from the Kubernetes
// API throughout); destroy removes everything, down to the containers.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realNodePaths } from '../../toolchain/real-node.mjs';
import { kubectlJson } from '../support/kubectl.js';
import { portForward } from '../support/port-forward.js';
import { requireKubeconfig } from '../support/programs.js';
import { startTestService, type TestService } from '../support/service.js';
import { setConfig } from '../support/stack-config.js';
import { watchObject } from '../support/watch.js';

const kubeconfig = requireKubeconfig();
// Its own namespaces, so that other tests can deploy development to the same cluster meanwhile.
const namespace = `toronto-ai-real-${randomBytes(3).toString('hex')}`;
const dataNamespace = `${namespace}-data`;
const backendConfig = (image: string) => JSON.stringify({ image, replicas: 1, cpu: '50m', memory: '128Mi', cpuLimit: '250m', memoryLimit: '256Mi' });

interface Pod {
  metadata: { name: string; labels: Record<string, string> };
  spec: { nodeName?: string; containers: Array<{ image: string }> };
  status: { phase: string; conditions?: Array<{ type: string; status: string }>; containerStatuses?: Array<{ ready: boolean; containerID?: string; state: { running?: object } }> };
}

const podsIn = async (ns: string) => (await kubectlJson<{ items: Pod[] }>(kubeconfig, '-n', ns, 'get', 'pods'))?.items ?? [];
const isReady = (pod: Pod) => pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

const ctr = (...args: string[]) => execFileSync('ctr', ['--address', realNodePaths().socket, '--namespace', 'k8s.io', ...args], { encoding: 'utf8' });

/** Containers containerd itself holds for a namespace's pods (the kubelet labels each one). */
function containersOf(ns: string): string[] {
  return ctr('containers', 'list', '--quiet', `labels."io.kubernetes.pod.namespace"==${ns}`).split('\n').filter(Boolean);
}

/** Those of them with a running process (containerd's tasks). */
function runningContainersOf(ns: string): string[] {
  const running = new Set(ctr('tasks', 'list').split('\n').slice(1).filter((line) => / RUNNING\s*$/.test(line)).map((line) => line.split(/\s+/)[0]));
  return containersOf(ns).filter((id) => running.has(id));
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, seconds = 60): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe('development on the real node', () => {
  let service: TestService;
  let realNode: string;

  beforeAll(async () => {
    const nodes = await kubectlJson<{ items: Array<{ metadata: { name: string } }> }>(kubeconfig, 'get', 'nodes', '-l', 'stackpilot.local/node=real');
    expect(nodes?.items, 'the cluster has no real node: bring it up with `npm run cluster -- up`').toHaveLength(1);
    realNode = nodes!.items[0]!.metadata.name;
    service = await startTestService({
      fixture: 'project', database: 'sqlite', config: { kubeconfig },
      prepare: async (program) => {
        await setConfig(program, 'development', 'namespace', namespace);
        // Kubernetes gives up on a stalled rollout after this; the bad release then fails in about a minute.
        await setConfig(program, 'development', 'rolloutDeadlineSeconds', '20');
      },
    });
  });

  afterAll(async () => {
    await operation('destroy').catch(() => undefined);
    await service?.close();
  });

  async function operation(type: string) {
    const { id } = (await service.inject({ method: 'POST', url: '/v1/environments/development/operations', payload: { type } })).json();
    return until(`${type} to finish`, async () => {
      const op = (await service.inject({ url: `/v1/operations/${id}?wait=30` })).json();
      return ['queued', 'running'].includes(op.status) ? undefined : op;
    }, 300);
  }

  it('runs the backend, the frontend and PostgreSQL on the real node, in containerd', async () => {
    const updated = await operation('update');
    expect(updated.status, updated.error).toBe('succeeded');
    const pods = [...await podsIn(namespace), ...await podsIn(dataNamespace)];
    expect(pods.map((p) => p.metadata.labels.app).sort()).toEqual(['backend', 'frontend', 'postgres']);
    for (const pod of pods) {
      expect(pod.spec.nodeName, pod.metadata.name).toBe(realNode);
      expect(pod.status.phase, pod.metadata.name).toBe('Running');
      expect(isReady(pod), pod.metadata.name).toBe(true);
      const [container] = pod.status.containerStatuses ?? [];
      expect(container?.containerID, pod.metadata.name).toMatch(/^containerd:\/\//);
      expect(container?.state.running, pod.metadata.name).toBeDefined();
    }
    // Each pod is a sandbox plus its container, both running in containerd.
    expect(runningContainersOf(namespace)).toHaveLength(4);
    expect(runningContainersOf(dataNamespace)).toHaveLength(2);
  });

  it('answers through a port-forward, with its database connected and its metrics counted', async () => {
    const forward = await portForward(kubeconfig, namespace, 'deployment/backend', 8000);
    try {
      const ready = await fetch(`${forward.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', database: 'connected', version: '1.0.0' });
      // Writes go to PostgreSQL: the count goes up by one per visit.
      const first = (await (await fetch(`${forward.url}/api/visits`, { method: 'POST' })).json()).visits;
      const second = (await (await fetch(`${forward.url}/api/visits`, { method: 'POST' })).json()).visits;
      expect(second).toBe(first + 1);
      const metrics = await (await fetch(`${forward.url}/metrics`)).text();
      expect(metrics).toMatch(/^backend_http_requests_total\{code="200",route="POST \/api\/visits"\} [2-9]/m);
      expect(metrics).toMatch(/^# TYPE backend_http_request_errors_total counter$/m);
    } finally {
      forward.close();
    }
  });

  it('fails a release that never gets ready, naming the Deployment and its pods, and never drops below capacity', async () => {
    await setConfig(service.program, 'development', 'backend', backendConfig('registry.toronto-ai.local/backend:1.1.0-broken'));
    // replicas, available, updated, at every change the API server reports during the update.
    const watch = await watchObject(kubeconfig, namespace, 'deployment/backend',
      '{.spec.replicas} {.status.availableReplicas} {.status.updatedReplicas} {.status.unavailableReplicas}');
    let failed;
    try {
      failed = await operation('update');
    } finally {
      watch.stop();
    }
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/Deployment\W+backend/);
    expect(failed.error).toMatch(/timed out waiting to be Ready/);

    const states = watch.lines.map((line) => line.split(' ').map(Number));
    // The rollout did start (a new, updated pod was counted unavailable at some point)...
    expect(states.some(([, , , unavailable]) => unavailable! >= 1)).toBe(true);
    // ...and at no point was the Deployment below its desired replicas.
    for (const [replicas, available] of states) expect(available).toBeGreaterThanOrEqual(replicas!);

    // The old pod still serves the old release; the new one runs but never became Ready.
    const pods = await podsIn(namespace).then((all) => all.filter((p) => p.metadata.labels.app === 'backend'));
    const old = pods.find((p) => p.spec.containers[0]!.image.endsWith(':1.0.0'));
    const broken = pods.find((p) => p.spec.containers[0]!.image.endsWith(':1.1.0-broken'));
    expect(old && isReady(old)).toBe(true);
    expect(broken?.status.phase).toBe('Running');
    expect(broken && isReady(broken)).toBe(false);
    expect(failed.error).toContain(`[Pod ${namespace}/${broken!.metadata.name}]: containers with unready status: [backend]`);
    const forward = await portForward(kubeconfig, namespace, `pod/${old!.metadata.name}`, 8000);
    try {
      expect(await (await fetch(`${forward.url}/api/version`)).json()).toEqual({ version: '1.0.0' });
    } finally {
      forward.close();
    }
  });

  it('destroys it all: Kubernetes objects, pods, and their processes in containerd', async () => {
    const destroyed = await operation('destroy');
    expect(destroyed.status, destroyed.error).toBe('succeeded');
    expect(await kubectlJson(kubeconfig, 'get', 'namespace', namespace)).toBeUndefined();
    expect(await kubectlJson(kubeconfig, 'get', 'namespace', dataNamespace)).toBeUndefined();
    // Nothing of theirs runs any more: the kubelet stopped every container and sandbox.
    // (Stopped containers' records go at the kubelet's next garbage collection, within a minute.)
    await until('containerd to stop the pods\' containers', () => runningContainersOf(namespace).length + runningContainersOf(dataNamespace).length === 0 || undefined, 60);
  });
});
