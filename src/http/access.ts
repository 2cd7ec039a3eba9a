// The door: every request that is not to a public route is rate-limited by its source, then
// authenticated into an Actor, then rate-limited by its principal, before any handler runs.
// What is refused here (no valid credential, too many requests) never reaches the domain, so
// it is audited here; everything else is decided and audited by the domain.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import '../routes/request-actor.js';
import { RefusalFolding } from './refusal-folding.js';
import type { AccessService } from '../auth/access-service.js';
import type { AuditTrail } from '../auth/audit-trail.js';
import type { Authenticator } from '../auth/authenticator.js';
import { DomainError, TooManyRequestsError, UnauthorizedError } from '../errors.js';

export interface RateLimitPolicy {
  /** Requests per principal per window. */
  max: number;
  /** Requests per source address per window, counted before authentication (many clients may share an address). */
  maxPerSource: number;
  windowSeconds: number;
  /** A store class shared by replicas (see store/rate-limit-store.ts); in memory when absent. */
  store?: new (...args: never[]) => unknown;
}

/** The longest request target the audit trail keeps. */
export const AUDITED_TARGET_LENGTH = 200;

function isPublic(request: FastifyRequest): boolean {
  if (request.routeOptions.config?.public) return true;
  // Swagger UI's own routes carry no config; unknown routes fall through to the 404 handler.
  const url = request.routeOptions.url;
  return url === undefined || url.startsWith('/docs');
}

export async function registerAccess(app: FastifyInstance, deps: {
  authenticator: Authenticator; access: AccessService; audit: AuditTrail; rateLimit: RateLimitPolicy;
}): Promise<void> {
  app.decorateRequest('actor', undefined);
  app.decorateRequest('attempt', undefined);
  app.decorateRequest('stillAuthenticated', function (this: FastifyRequest) {
    return deps.authenticator.stillValid(this.headers.authorization);
  });
  await app.register(rateLimit, { global: false, ...(deps.rateLimit.store ? { store: deps.rateLimit.store as never } : {}) });
  const limiter = (max: number, key: (request: FastifyRequest) => string) => app.createRateLimit({
    max, timeWindow: deps.rateLimit.windowSeconds * 1000, keyGenerator: key,
  });
  const bySource = limiter(deps.rateLimit.maxPerSource, (request) => `source:${request.ip}`);
  const byPrincipal = limiter(deps.rateLimit.max, (request) => `principal:${request.actor?.principal}`);
  const limit = async (check: typeof bySource, request: FastifyRequest) => {
    const verdict = await check(request);
    if (!verdict.isAllowed && verdict.isExceeded) {
      throw new TooManyRequestsError('rate_limited', `more than ${verdict.max} requests in ${deps.rateLimit.windowSeconds} s`, verdict.ttlInSeconds ?? 1);
    }
  };

  app.addHook('onRequest', async (request) => {
    if (isPublic(request)) return;
    try {
      // Read while the source's count is written (on PostgreSQL both are round trips).
      const credentials = deps.authenticator.prepare();
      await limit(bySource, request);
      await deps.access.requireSomeCredential();
      try {
        request.actor = await deps.authenticator.authenticate(request.headers.authorization, request.ip, credentials);
      } catch (error) {
        if (error instanceof UnauthorizedError) request.attempt = error.attempt;
        throw error;
      }
      await limit(byPrincipal, request);
    } catch (error) {
      // No valid credential, a token no rule grants anything, too many requests: refused here.
      if (error instanceof DomainError && error.status < 500) await refusedAtDoor(request, error);
      throw error;
    }
  });

  // A refusal at the door is on record before the answer leaves; an anonymous source's are folded.
  const folding = new RefusalFolding((entry) => deps.audit.append(entry));
  app.addHook('onClose', () => folding.flush());
  const refusedAtDoor = (request: FastifyRequest, error: DomainError) => {
    const principal = request.actor?.principal ?? request.attempt?.principal;
    const entry = {
      principal: principal ?? 'anonymous',
      credentialId: request.actor?.credentialId ?? request.attempt?.credentialId ?? null,
      source: request.ip,
      action: String((request.routeOptions.schema as { operationId?: string } | undefined)?.operationId ?? `${request.method} ${request.routeOptions.url}`),
      target: (request.url.split('?')[0] ?? '').slice(0, AUDITED_TARGET_LENGTH),
      result: 'refused' as const,
      reason: error.code,
      status: error.status,
    };
    return principal ? deps.audit.append(entry) : folding.record(entry);
  };
}
