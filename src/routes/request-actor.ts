// What the door (http/access.ts) leaves on a request for the routes: the Actor it
// authenticated. Routes turn a request into an actor and input, and call the domain.
import type { FastifyRequest } from 'fastify';
import type { Actor } from '../auth/actor.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
    /** A known credential that was refused (expired, revoked...): whom the audit names. */
    attempt?: { principal: string; credentialId: string };
    /** Authenticates the request's credential again: false once it is no longer valid (for long-lived streams). */
    stillAuthenticated(): Promise<boolean>;
  }
  interface FastifyContextConfig {
    /** Served without a credential: health, readiness, the spec and its UI. */
    public?: boolean;
  }
}

export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new Error('a public route asked for an actor');
  return request.actor;
}
