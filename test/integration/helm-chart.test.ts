// The Helm chart (charts/stackpilot) with the toolchain's helm, on the local cluster: it lints;
// what it renders is accepted by the API server (server-side dry run); it installs with two
// replicas Ready on PostgreSQL values (kwok's fake nodes mark pods Ready; nothing runs the
// image); an upgrade rolls out without ever dropping below two available replicas; an
// uninstall leaves nothing; bad values are refused by values.schema.json, naming the value.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { toolchainPaths } from '../../toolchain/versions.mjs';
import { requireKubeconfig, repoDir } from '../support/programs.js';

const kubeconfig = requireKubeconfig();
const chart = join(repoDir, 'charts', 'stackpilot');
const postgresValues = join(chart, 'ci', 'postgres-values.yaml');
const namespace = `stackpilot-chart-${randomBytes(4).toString('hex')}`;
const release = 'sp';
const deployment = `${release}-stackpilot`;
// Only kwok's fake nodes: a real node in the cluster would try to run the image.
const fakeNodes = ['--set', 'nodeSelector.type=kwok'];

interface Result { code: number; stdout: string; stderr: string }

function tool(name: 'helm' | 'kubectl', args: string[], input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(toolchainPaths().bin, name), ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

async function ok(name: 'helm' | 'kubectl', args: string[], input?: string): Promise<string> {
  const result = await tool(name, args, input);
  expect(result.code, `${name} ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

const helm = (...args: string[]) => ok('helm', args);
const kubectl = (...args: string[]) => ok('kubectl', args);
const render = async (...args: string[]) =>
  parseAllDocuments(await helm('template', release, chart, '--namespace', namespace, ...args)).map((d) => d.toJS()).filter(Boolean);

describe('the Helm chart', () => {
  beforeAll(async () => {
    await kubectl('create', 'namespace', namespace);
    // What the values name: the chart refers to Secrets and never holds their values.
    await kubectl('-n', namespace, 'create', 'secret', 'generic', 'stackpilot',
      '--from-literal=database-url=postgres://stackpilot@postgres:5432/stackpilot',
      '--from-literal=state-backend-url=postgres://stackpilot@postgres:5432/pulumi_state',
      '--from-literal=passphrase=correct-horse-battery-staple',
      '--from-literal=bootstrap-admin-key=sp_000000000000_0000000000000000000000000000000000000000000',
      '--from-literal=kubeconfig=apiVersion: v1');
  });
  afterAll(async () => {
    await tool('helm', ['uninstall', release, '--namespace', namespace]);
    await tool('kubectl', ['delete', 'namespace', namespace, '--wait=false']);
  });

  it('lints, with its defaults (SQLite) and with PostgreSQL values', async () => {
    expect(await helm('lint', '--strict', chart)).toMatch(/0 chart\(s\) failed/);
    expect(await helm('lint', '--strict', chart, '--values', postgresValues)).toMatch(/0 chart\(s\) failed/);
  });

  it('renders manifests the API server accepts, hardened and without secret values', async () => {
    for (const values of [[], ['--values', postgresValues]]) {
      const manifests = await render(...values);
      const dryRun = await tool('kubectl', ['apply', '--dry-run=server', '--validate=strict', '--namespace', namespace, '-f', '-'],
        manifests.map((m) => JSON.stringify(m)).join('\n'));
      expect(dryRun.code, dryRun.stderr).toBe(0);

      const pod = manifests.find((m) => m.kind === 'Deployment').spec.template.spec;
      const [main] = pod.containers;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
      expect(main.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      expect([main.livenessProbe.httpGet.path, main.readinessProbe.httpGet.path]).toEqual(['/healthz', '/readyz']);
      expect(main.resources.requests && main.resources.limits).toBeTruthy();
      // Secret settings arrive as files named by *_FILE variables: never a value, nor a secretKeyRef into the environment.
      const names = main.env.map((variable: { name: string }) => variable.name);
      for (const secret of ['DATABASE_URL', 'STACKPILOT_STATE_BACKEND', 'STACKPILOT_SECRETS_PASSPHRASE', 'STACKPILOT_BOOTSTRAP_ADMIN_KEY']) expect(names).not.toContain(secret);
      for (const variable of main.env) expect(variable.value ?? '', variable.name).not.toMatch(/postgres:\/\/|sp_[a-z0-9]{12}_/);
      expect(main.env.filter((variable: { valueFrom?: unknown }) => variable.valueFrom)).toEqual([]);
    }
    const sqlite = await render();
    expect(sqlite.map((m) => m.kind).sort()).toEqual(['Deployment', 'NetworkPolicy', 'PersistentVolumeClaim', 'Service', 'ServiceAccount']);
    const postgres = await render('--values', postgresValues);
    expect(postgres.map((m) => m.kind).sort()).toEqual(['Deployment', 'Ingress', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    const env = Object.fromEntries(postgres.find((m) => m.kind === 'Deployment').spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env).toMatchObject({
      DATABASE_URL_FILE: '/var/run/secrets/stackpilot/database-url',
      STACKPILOT_STATE_BACKEND_FILE: '/var/run/secrets/stackpilot/state-backend-url',
      STACKPILOT_SECRETS_PASSPHRASE_FILE: '/var/run/secrets/stackpilot/secrets-passphrase',
      STACKPILOT_BOOTSTRAP_ADMIN_KEY_FILE: '/var/run/secrets/stackpilot/bootstrap-admin-key',
      STACKPILOT_TLS_CERT: '/var/run/secrets/stackpilot/tls/tls.crt',
    });
  });

  it('adds a ServiceMonitor on the Service port when metrics are on', async () => {
    // Its CRD (the Prometheus operator's) is not on the local cluster, so it is checked here, by shape.
    const manifests = await render('--set', 'metrics.enabled=true');
    const monitor = manifests.find((m) => m.kind === 'ServiceMonitor');
    const service = manifests.find((m) => m.kind === 'Service');
    expect(monitor.spec.selector.matchLabels).toEqual(service.spec.selector);
    for (const [label, value] of Object.entries(service.spec.selector)) expect(service.metadata.labels[label]).toBe(value);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: service.spec.ports[0].name, path: '/metrics' })]);
    expect((await render()).some((m) => m.kind === 'ServiceMonitor')).toBe(false);
  });

  it('installs with two replicas Ready on PostgreSQL values', async () => {
    await helm('install', release, chart, '--namespace', namespace, '--values', postgresValues, ...fakeNodes, '--wait', '--timeout', '3m');
    const status = JSON.parse(await kubectl('-n', namespace, 'get', 'deployment', deployment, '-o', 'json')).status;
    expect(status).toMatchObject({ readyReplicas: 2, availableReplicas: 2 });
    const pods = JSON.parse(await kubectl('-n', namespace, 'get', 'pods', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'json')).items;
    expect(pods.filter((p: any) => p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))).toHaveLength(2);
  });

  it('upgrades with a changed value without dropping below two available replicas', async () => {
    // Every status change of the Deployment, from before the upgrade to the end of its rollout.
    const watch = spawn(join(toolchainPaths().bin, 'kubectl'), ['--kubeconfig', kubeconfig, '-n', namespace, 'get', 'deployment', deployment, '--watch',
      '-o', 'jsonpath={.metadata.generation} {.status.observedGeneration} {.status.replicas} {.status.updatedReplicas} {.status.availableReplicas}{"\\n"}']);
    const states: number[][] = []; // generation, observed generation, replicas, updated, available (absent: 0)
    let partial = '';
    watch.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      states.push(...lines.map((line) => line.split(' ').map(Number)));
    });
    try {
      await until(() => states.length > 0);
      await helm('upgrade', release, chart, '--namespace', namespace, '--values', postgresValues, ...fakeNodes, '--set', 'config.logLevel=debug', '--wait', '--timeout', '3m');
      const done = ([generation, observed, replicas, updated, available]: number[]) =>
        observed === generation && generation! > states[0]![0]! && replicas === 2 && updated === 2 && available === 2;
      await until(() => states.some(done));
    } finally {
      watch.kill();
    }
    const available = states.map((s) => s[4]!);
    expect(Math.min(...available), JSON.stringify(states)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...states.map((s) => s[2]!)), 'a third pod surged in').toBe(3);
    const env = JSON.parse(await kubectl('-n', namespace, 'get', 'deployment', deployment, '-o', 'json')).spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'STACKPILOT_LOG_LEVEL', value: 'debug' });
  });

  it('uninstalls, leaving nothing behind', async () => {
    await helm('uninstall', release, '--namespace', namespace, '--wait', '--timeout', '2m');
    const left = await kubectl('-n', namespace, 'get', 'all,pdb,networkpolicy,ingress,serviceaccount,pvc,configmap,secret',
      '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name');
    expect(left.trim()).toBe('');
    expect((await kubectl('-n', namespace, 'get', 'secrets', '-l', 'owner=helm', '-o', 'name')).trim()).toBe(''); // the release record
    expect((await kubectl('-n', namespace, 'get', 'pods', '-o', 'name')).trim()).toBe('');
  });

  it.each([
    ['two replicas on SQLite', ['--set', 'replicaCount=2'], /'\/replicaCount': value must be 1\s+- at '\/database\/type': value must be 'postgres'/],
    ['PostgreSQL without its URL Secret', ['--values', postgresValues, '--set', 'database.urlSecret.name='], /'\/database\/urlSecret\/name': minLength/],
    ['PostgreSQL with a single replica', ['--values', postgresValues, '--set', 'replicaCount=1'], /'\/replicaCount': minimum: got 1, want 2/],
    ['a literal secret in values', ['--set', 'database.url=postgres://admin:hunter2@db/stackpilot'], /'\/database': additional properties 'url' not allowed/],
    ['an unknown setting', ['--set', 'config.logLvl=debug'], /'\/config': additional properties 'logLvl' not allowed/],
  ])('refuses %s at install, naming the value', async (_, values, message) => {
    const result = await tool('helm', ['install', 'refused', chart, '--namespace', namespace, ...values]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/hunter2/);
    expect(await helm('list', '--namespace', namespace, '--all', '--short')).not.toMatch(/refused/);
  });
});

async function until(check: () => boolean, seconds = 60): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
