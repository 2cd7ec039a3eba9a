// One outbound POST (a webhook delivery, a Slack reply): through the target guard, within a
// time limit, never following redirects, reading at most a little of the answer. The answer's
// status and Retry-After are all a caller needs.
import http from 'node:http';
import https from 'node:https';
import { checkTarget, guardedLookup, type Cidr } from './target-guard.js';

export interface OutboundAnswer {
  status: number;
  /** Seconds the receiver asked us to wait (Retry-After), when it did. */
  retryAfterSeconds?: number;
}

const MAX_ANSWER_BYTES = 64 * 1024;

export async function postOutbound(target: string, body: string, headers: Record<string, string>, options: { allow: readonly Cidr[]; timeoutMs: number }): Promise<OutboundAnswer> {
  const url = new URL(target);
  await checkTarget(url, options.allow); // IP literals are never looked up: check them here
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'stackpilot-webhooks/0.1', ...headers },
      lookup: guardedLookup(options.allow) as never,
      signal: AbortSignal.timeout(options.timeoutMs),
    }, (response) => {
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_ANSWER_BYTES) response.destroy();
      });
      const done = () => resolve({ status: response.statusCode ?? 0, retryAfterSeconds: retryAfter(response.headers['retry-after']) });
      response.on('end', done);
      response.on('close', done);
      response.on('error', done);
    });
    request.on('error', (error: Error & { code?: string }) => reject(error.name === 'AbortError' || error.name === 'TimeoutError'
      ? Object.assign(new Error(`no answer within ${options.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' }) : error));
    request.end(body);
  });
}

/** Retry-After as seconds: a number of seconds, or an HTTP date. */
function retryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
