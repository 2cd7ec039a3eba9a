// Reads objects from a Kubernetes API server with a kubeconfig, the way kubectl would for
// its current context: the server, its CA, and a client certificate or bearer token (inline
// data or files). Only GET is needed, so a full client library (and its dozens of packages) is
// not: node:https does it. Exec credential plugins (EKS's `aws eks get-token`) are not run;
// such a cluster answers 401, which the rollout check reports as an error.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

const TIMEOUT_MS = 5_000;

interface Named<T> { name: string; [key: string]: unknown; cluster?: T; user?: T; context?: T }
interface KubeconfigFile {
  'current-context'?: string;
  clusters?: Array<Named<Record<string, string | boolean>>>;
  users?: Array<Named<Record<string, string>>>;
  contexts?: Array<Named<{ cluster: string; user: string }>>;
}

export class KubernetesApi {
  private constructor(private readonly server: URL, private readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean }, private readonly token?: string) {}

  /** `kubeconfig`: a file path, or the kubeconfig's content (as a Pulumi Kubernetes provider accepts either). */
  static fromKubeconfig(kubeconfig: string): KubernetesApi {
    const inline = kubeconfig.includes('\n') || kubeconfig.trimStart().startsWith('{');
    const base = inline ? process.cwd() : dirname(kubeconfig);
    const file = parse(inline ? kubeconfig : readFileSync(kubeconfig, 'utf8')) as KubeconfigFile;
    const contextName = file['current-context'] ?? file.contexts?.[0]?.name;
    const context = file.contexts?.find((c) => c.name === contextName)?.context;
    const cluster = file.clusters?.find((c) => c.name === context?.cluster)?.cluster;
    const user = file.users?.find((u) => u.name === context?.user)?.user ?? {};
    if (!cluster?.server) throw new Error('the kubeconfig names no cluster server for its current context');
    const bytes = (data: unknown, path: unknown): Buffer | undefined => {
      if (typeof data === 'string') return Buffer.from(data, 'base64');
      if (typeof path === 'string') return readFileSync(isAbsolute(path) ? path : join(base, path));
      return undefined;
    };
    const token = user.token ?? (user.tokenFile ? readFileSync(user.tokenFile, 'utf8').trim() : undefined);
    return new KubernetesApi(new URL(String(cluster.server)), {
      ca: bytes(cluster['certificate-authority-data'], cluster['certificate-authority']),
      cert: bytes(user['client-certificate-data'], user['client-certificate']),
      key: bytes(user['client-key-data'], user['client-key']),
      rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
    }, token);
  }

  /** The object at `path` (e.g. /apis/apps/v1/namespaces/x/deployments/y), or undefined when it is not there. */
  get<T>(path: string): Promise<T | undefined> {
    const url = new URL(path, this.server);
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method: 'GET', ...this.tls, timeout: TIMEOUT_MS,
        headers: { accept: 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (response.statusCode === 404) return resolve(undefined);
          if (response.statusCode !== 200) return reject(new Error(`the Kubernetes API answered ${response.statusCode} for ${url.pathname}`));
          try {
            resolve(JSON.parse(body) as T);
          } catch {
            reject(new Error(`the Kubernetes API answered ${url.pathname} with something other than JSON`));
          }
        });
        response.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`the Kubernetes API did not answer within ${TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end();
    });
  }
}
