// The dashboard's credential: a session token in an HttpOnly, SameSite=Strict cookie (Secure
// under TLS). The cookie never holds an API key: signing in exchanges the key for a session
// (routes/dashboard.ts). A request with no Authorization header but this cookie is
// authenticated by the door exactly as if the token came as a bearer, so permissions, timeouts
// and audit are the API's own. Mutations sent with the cookie must carry the CSRF token, an
// HMAC of the session token: a cross-site page can neither read it nor make it.
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, UnauthorizedError } from '../errors.js';

export const SESSION_COOKIE = 'stackpilot_session';
export const CSRF_HEADER = 'x-csrf-token';
export const WHO_IS_SIGNED_IN = '/v1/dashboard/session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    /** The session token when this request was authenticated by the dashboard's cookie. */
    sessionCookie?: string;
  }
}

export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('stackpilot dashboard csrf').digest('base64url');
}

function csrfMatches(given: string | string[] | undefined, sessionToken: string): boolean {
  if (typeof given !== 'string') return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export async function registerDashboardSession(app: FastifyInstance, options: { secure: boolean }): Promise<void> {
  await app.register(cookie);
  app.decorateRequest('sessionCookie', undefined);
  app.decorate('dashboardCookie', {
    set(reply: FastifyReply, token: string, maxAgeSeconds: number) {
      reply.setCookie(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'strict', secure: options.secure, maxAge: maxAgeSeconds });
    },
    clear(reply: FastifyReply) {
      reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: options.secure });
    },
  });
  // Before the door (http/access.ts): it then sees the cookie's session as a bearer token.
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (request.headers.authorization !== undefined || request.routeOptions.config?.public) return;
    const token = request.cookies[SESSION_COOKIE];
    if (!token) {
      // "Who is signed in?" with no credential at all is the page's first question, not a failed
      // attempt: answered before the door, which would count it toward the source's lockout.
      if (request.method === 'GET' && request.routeOptions.url === WHO_IS_SIGNED_IN) throw new UnauthorizedError('signed_out', 'not signed in');
      return;
    }
    if (!SAFE_METHODS.has(request.method) && !csrfMatches(request.headers[CSRF_HEADER], token)) {
      throw new ForbiddenError('csrf_token_invalid', `a change made with the dashboard's session cookie must carry its CSRF token in ${CSRF_HEADER}`);
    }
    request.sessionCookie = token;
    request.headers.authorization = `Bearer ${token}`;
  });
  // A session that ended is forgotten by the browser at its first refusal, so reloading the
  // page does not send it again and again (each would count toward the source's lockout).
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.sessionCookie && reply.statusCode === 401) app.dashboardCookie.clear(reply);
    return payload;
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    dashboardCookie: { set(reply: FastifyReply, token: string, maxAgeSeconds: number): void; clear(reply: FastifyReply): void };
  }
}
