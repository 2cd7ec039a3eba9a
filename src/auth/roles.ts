// Roles as data. A grant gives a role on some environments ("*" for all of them); every
// action needs one permission; one function decides. Production can only be changed through a
// grant that names it: "*" reads it, never changes it.

export const ROLES = ['viewer', 'deployer', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What an action needs. `operate` runs the engine (preview, update, refresh, cancel);
 * `destroy` tears a stack down; `approve` approves or rejects another person's saved plan;
 * `admin` covers keys and the audit trail; `authenticated` only asks for a valid credential
 * (opening a session, rotating one's own key).
 */
export type Permission = 'authenticated' | 'read' | 'operate' | 'destroy' | 'approve' | 'admin';

export interface Grant {
  role: Role;
  environments: '*' | string[];
}

export const ROLE_PERMISSIONS: Record<Role, readonly Exclude<Permission, 'authenticated'>[]> = {
  viewer: ['read'],
  deployer: ['read', 'operate'],
  approver: ['read', 'approve'],
  admin: ['read', 'operate', 'destroy', 'approve', 'admin'],
};

/** Whether `held` includes every permission of `role`: a role may hand out only what it includes. */
export function includesRole(held: Role, role: Role): boolean {
  return ROLE_PERMISSIONS[role].every((permission) => ROLE_PERMISSIONS[held].includes(permission));
}

export const PROTECTED_ENVIRONMENT = 'production';

/** Whether these grants allow `permission` on `environment` (undefined: not environment-scoped). */
export function allows(grants: readonly Grant[], permission: Permission, environment?: string): boolean {
  if (permission === 'authenticated') return true;
  return grants.some((grant) => ROLE_PERMISSIONS[grant.role].includes(permission as never) && covers(grant, permission, environment));
}

function covers(grant: Grant, permission: Permission, environment?: string): boolean {
  if (environment === undefined) return true;
  if (grant.environments === '*') return environment !== PROTECTED_ENVIRONMENT || permission === 'read';
  return grant.environments.includes(environment);
}

export function hasRole(grants: readonly Grant[], role: Role): boolean {
  return grants.some((grant) => grant.role === role);
}
