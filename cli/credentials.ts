// Where the CLI finds the service and its credential: STACKPILOT_URL, and STACKPILOT_TOKEN or,
// inside GitHub Actions (with `permissions: id-token: write`), an OIDC token requested from the
// runner for the audience the service expects (STACKPILOT_OIDC_AUDIENCE, default stackpilot).
import { usageError } from './exit-codes.js';

export interface Connection {
  baseUrl: string;
  token: () => Promise<string>;
}

export function connectionFrom(env: NodeJS.ProcessEnv): Connection {
  const baseUrl = env.STACKPILOT_URL;
  if (!baseUrl) throw usageError('STACKPILOT_URL is not set: the address of the Stackpilot service, e.g. https://stackpilot.example.com');
  if (!/^https?:\/\//.test(baseUrl)) throw usageError(`STACKPILOT_URL ${JSON.stringify(baseUrl)} is not an http(s) URL`);
  if (env.STACKPILOT_TOKEN) {
    const token = env.STACKPILOT_TOKEN;
    return { baseUrl, token: async () => token };
  }
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (requestUrl && requestToken) {
    let cached: Promise<string> | undefined;
    const audience = env.STACKPILOT_OIDC_AUDIENCE ?? 'stackpilot';
    // One token per run of the CLI: it lives minutes, longer than any command waits.
    return { baseUrl, token: () => (cached ??= githubOidcToken(requestUrl, requestToken, audience)) };
  }
  throw usageError('no credential: set STACKPILOT_TOKEN, or run in GitHub Actions with `permissions: id-token: write`');
}

/** GitHub's runner hands out OIDC tokens at ACTIONS_ID_TOKEN_REQUEST_URL (its own API, not Stackpilot's). */
async function githubOidcToken(requestUrl: string, requestToken: string, audience: string): Promise<string> {
  const url = new URL(requestUrl);
  url.searchParams.set('audience', audience);
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${requestToken}`, accept: 'application/json' } });
  } catch (error) {
    throw usageError(`cannot reach the GitHub Actions OIDC endpoint: ${(error as Error).message}`);
  }
  const body = (await response.json().catch(() => ({}))) as { value?: unknown };
  if (!response.ok || typeof body.value !== 'string') throw usageError(`the GitHub Actions OIDC endpoint refused the token request (${response.status})`);
  return body.value;
}
