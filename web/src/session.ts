// Who is signed in, with what grants: the page shows only what these grants allow, with the
// same rule the service applies (src/auth/roles.ts), and the service checks every request anyway.
import { signal } from './signal.js';
import { allows, hasRole, type Permission } from '../../src/auth/roles.js';
import type { Grant } from './api.js';

export interface SignedIn {
  principal: string;
  grants: Grant[];
  secondFactor: boolean;
}

export const session = signal<SignedIn | null | undefined>(undefined);

export const can = (permission: Permission, environment?: string) => {
  const current = session.value;
  return current ? allows(current.grants, permission, environment) : false;
};
export const isAdmin = () => Boolean(session.value && hasRole(session.value.grants, 'admin'));
