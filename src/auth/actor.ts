// Who asks the domain to do something. Every caller reaches the domain as an Actor: HTTP
// requests (an API key, a session, an OIDC token), and the service's own workers (recovery,
// schedules, the verifier), which act as principals named `system:<name>`. The domain
// authorises and audits actors alike, whoever they came through.
import type { Grant } from './roles.js';

export interface Actor {
  /** Who, as the audit trail names them: alice, ci, oidc:repo:org/app, system:recovery. */
  principal: string;
  kind: 'key' | 'session' | 'oidc' | 'system' | 'slack';
  /** Key id, session id or token subject: what the audit trail records, never the secret. */
  credentialId: string | null;
  /** The API key behind a key or session credential. */
  keyId?: string;
  /** The TOTP enrolment the key's sessions are opened with (see ApiKeys.create). */
  factor?: string;
  sessionId?: string;
  grants: readonly Grant[];
  /** True for sessions opened with a TOTP code, and for the service's own workers. */
  secondFactor: boolean;
  /** Client address, or `system`. */
  source: string;
}

const EVERYTHING: Grant[] = [{ role: 'admin', environments: '*' }, { role: 'admin', environments: ['production'] }];

/** The service acting on its own behalf, for example recovering an operation whose process died. */
export function systemActor(name: string): Actor {
  return { principal: `system:${name}`, kind: 'system', credentialId: null, grants: EVERYTHING, secondFactor: true, source: 'system' };
}
