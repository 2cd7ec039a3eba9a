// The Stackpilot client: openapi-fetch over the types openapi-typescript generates from
// openapi/openapi.json (schema.d.ts, rewritten by `npm run openapi`). Every call is typed by
// the spec, so a route that changes shape breaks its callers at compile time. The CLI and the
// dashboard reach the API only through this.
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type { components, paths };
export type Operation = components['schemas']['Operation'];
export type Environment = components['schemas']['Environment'];
export type Problem = components['schemas']['Problem'];

export interface ClientOptions {
  /** The service's address, e.g. https://stackpilot.example.com */
  baseUrl: string;
  /**
   * An API key (sp_...), a session (sps_...) or an OIDC token; asked for on each request, so a
   * caller may refresh it. Absent in the dashboard, whose browser sends its session cookie.
   */
  token?: () => string | Promise<string>;
  /** More headers on each request: the dashboard's CSRF token. */
  headers?: () => Record<string, string>;
  fetch?: typeof globalThis.fetch;
  userAgent?: string;
}

/** A client for the paths `P` declares: the generated `paths` unless a caller extends them. */
export function createStackpilotClient<P extends {} = paths>(options: ClientOptions): Client<P> {
  const client = createClient<P>({ baseUrl: options.baseUrl.replace(/\/+$/, ''), ...(options.fetch ? { fetch: options.fetch } : {}) });
  const auth: Middleware = {
    async onRequest({ request }) {
      if (options.token) request.headers.set('authorization', `Bearer ${await options.token()}`);
      for (const [name, value] of Object.entries(options.headers?.() ?? {})) request.headers.set(name, value);
      if (options.userAgent) request.headers.set('user-agent', options.userAgent);
      return request;
    },
  };
  client.use(auth);
  return client;
}
