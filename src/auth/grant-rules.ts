// What one credential may do with another's grants. A credential grants only what it holds:
// the same role or one whose permissions it includes, on environments it holds, production only when it holds
// production by name. It manages another key only as an admin of every environment that key
// reaches, and reads the whole audit trail only as an admin of everything, production included.
import { includesRole, PROTECTED_ENVIRONMENT, type Grant, type Role } from './roles.js';

/** Whether `held` covers `role` on `environment` ('*': every environment but production). */
function holds(held: readonly Grant[], role: Role, environment: string | '*'): boolean {
  return held.some((grant) => includesRole(grant.role, role) && (environment === '*'
    ? grant.environments === '*'
    : environment === PROTECTED_ENVIRONMENT
      ? grant.environments !== '*' && grant.environments.includes(environment)
      : grant.environments === '*' || grant.environments.includes(environment)));
}

/** Whether a credential holding `held` may hand out `grant`. */
export function mayGrant(held: readonly Grant[], grant: Grant): boolean {
  const environments = grant.environments === '*' ? ['*' as const] : grant.environments;
  return environments.every((environment) => holds(held, grant.role, environment));
}

/** The first grant `held` may not hand out, if any. */
export function firstUngrantable(held: readonly Grant[], grants: readonly Grant[]): Grant | undefined {
  return grants.find((grant) => !mayGrant(held, grant));
}

/** Whether `held` is admin over every environment `grants` reach (to manage a key holding them). */
export function administersAll(held: readonly Grant[], grants: readonly Grant[]): boolean {
  return grants.every((grant) => mayGrant(held, { role: 'admin', environments: grant.environments }));
}

/** Admin of everything, production included: reads the whole audit trail. */
export function administersEverything(held: readonly Grant[]): boolean {
  return holds(held, 'admin', '*') && holds(held, 'admin', PROTECTED_ENVIRONMENT);
}

/** The named environments `held` administers (for an audit trail limited to them). */
export function administeredEnvironments(held: readonly Grant[], known: readonly string[]): string[] {
  return known.filter((environment) => holds(held, 'admin', environment));
}
