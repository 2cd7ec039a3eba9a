// One place enforces access: every route declares what it needs in its config (`access`), and
// these hooks authenticate (onRequest), authorise (preHandler, after validation), limit the
// rate per principal, and write the audit trail (onSend: before the answer leaves, so nothing
// is acknowledged that is not on record) for every mutation and every refusal.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessService } from '../auth/access-service.js';
import type { Principal } from '../auth/authenticator.js';
import type { Permission } from '../auth/roles.js';
import { NotFoundError, TooManyRequestsError, UnauthorizedError } from '../errors.js';

export interface RouteAccess {
  /** Served without a credential: health, readiness, the spec and its UI. */
  public?: boolean;
  permission?: Permission | ((request: FastifyRequest) => Permission);
  /** The environment the request acts on, when there is one: decides grants and 404 hiding. */
  environment?: (request: FastifyRequest) => string | undefined | Promise<string | undefined>;
  /** What a caller who cannot see the environment is told instead (default: environment_not_found). */
  hidden?: (request: FastifyRequest) => NotFoundError;
}

// Routes that declare nothing are Swagger UI's own (public) or a mistake (admin only): a
// route never becomes open by forgetting to say who may call it.
function accessOf(request: FastifyRequest): RouteAccess | undefined {
  const declared = request.routeOptions.config?.access;
  if (declared) return declared;
  if (request.routeOptions.url === undefined) return undefined; // no route: the 404 handler answers
  return request.routeOptions.url.startsWith('/docs') ? { public: true } : { permission: 'admin' };
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** A known credential that was refused (expired, revoked...): whom the audit names. */
    attempt?: { principal: string; credentialId: string };
    /** The problem code of a refusal or failure, for the audit trail. */
    problemCode?: string;
    /** Set when the answer is a refusal in disguise (a 404 hiding an environment). */
    refused?: boolean;
  }
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

export interface RateLimitPolicy {
  max: number;
  windowSeconds: number;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route without access control asked for a principal');
  return request.principal;
}

export async function registerAccessControl(app: FastifyInstance, access: AccessService, limits: RateLimitPolicy): Promise<void> {
  app.decorateRequest('principal', undefined);
  app.decorateRequest('refused', undefined);
  app.decorateRequest('attempt', undefined);
  app.decorateRequest('problemCode', undefined);

  app.addHook('onRequest', async (request) => {
    const route = accessOf(request);
    if (!route || route.public) return; // unknown routes fall through to the 404 handler
    await access.requireSomeCredential();
    try {
      request.principal = await access.authenticate(request.headers.authorization, request.ip);
    } catch (error) {
      if (error instanceof UnauthorizedError) request.attempt = error.attempt;
      throw error;
    }
  });

  await app.register(rateLimit, {
    hook: 'preHandler',
    max: limits.max,
    timeWindow: limits.windowSeconds * 1000,
    keyGenerator: (request) => request.principal?.name ?? request.ip,
    errorResponseBuilder: (_request, context) =>
      new TooManyRequestsError('rate_limited', `more than ${context.max} requests in ${limits.windowSeconds} s`, Math.ceil(context.ttl / 1000)),
  });

  app.addHook('preHandler', async (request) => {
    const route = accessOf(request);
    if (!route || route.public) return;
    const principal = principalOf(request);
    const permission = typeof route.permission === 'function' ? route.permission(request) : route.permission ?? 'read';
    const environment = route.environment ? await route.environment(request) : undefined;
    try {
      access.authorize(principal, permission, environment);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      request.refused = true;
      throw route.hidden?.(request) ?? error;
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const status = reply.statusCode;
    const refused = status === 401 || status === 403 || status === 429 || request.refused === true;
    const mutation = !READ_METHODS.has(request.method);
    if (!refused && !mutation) return payload;
    if (!refused && accessOf(request)?.public) return payload;
    try {
      await access.audit.append({
        principal: request.principal?.name ?? request.attempt?.principal ?? 'anonymous',
        credentialId: request.principal?.credentialId ?? request.attempt?.credentialId ?? null,
        source: request.ip,
        action: String((request.routeOptions.schema as { operationId?: string } | undefined)?.operationId ?? `${request.method} ${request.routeOptions.url ?? 'unknown'}`),
        target: request.url.split('?')[0] ?? request.url,
        result: refused ? 'refused' : status < 400 ? 'allowed' : 'failed',
        reason: status >= 400 ? request.problemCode ?? null : null,
        status,
      });
    } catch (error) {
      request.log.error({ err: error }, 'could not write the audit record');
    }
    return payload;
  });
}
