// The rules that decide access, as pure functions: roles and the production rule, and the
// lockout's arithmetic.
import { describe, expect, it } from 'vitest';
import { lockoutWait } from '../../src/auth/lockout.js';
import { allows, type Grant } from '../../src/auth/roles.js';

describe('roles', () => {
  const star = (role: Grant['role']): Grant[] => [{ role, environments: '*' }];

  it('gives each role its own permissions and those below it', () => {
    expect(allows(star('viewer'), 'read', 'development')).toBe(true);
    expect(allows(star('viewer'), 'operate', 'development')).toBe(false);
    expect(allows(star('deployer'), 'operate', 'development')).toBe(true);
    expect(allows(star('deployer'), 'destroy', 'development')).toBe(false);
    expect(allows(star('admin'), 'destroy', 'development')).toBe(true);
    expect(allows(star('admin'), 'admin')).toBe(true);
    expect(allows(star('deployer'), 'admin')).toBe(false);
  });

  it('lets "*" read production but never change it: only a grant that names production does', () => {
    expect(allows(star('admin'), 'read', 'production')).toBe(true);
    expect(allows(star('admin'), 'operate', 'production')).toBe(false);
    expect(allows(star('admin'), 'destroy', 'production')).toBe(false);
    expect(allows([{ role: 'deployer', environments: ['production'] }], 'operate', 'production')).toBe(true);
  });

  it('limits a listed grant to its environments', () => {
    const grants: Grant[] = [{ role: 'deployer', environments: ['development', 'testing'] }];
    expect(allows(grants, 'operate', 'testing')).toBe(true);
    expect(allows(grants, 'read', 'staging')).toBe(false);
  });

  it('takes the union of several grants', () => {
    const grants: Grant[] = [{ role: 'viewer', environments: '*' }, { role: 'admin', environments: ['development'] }];
    expect(allows(grants, 'destroy', 'development')).toBe(true);
    expect(allows(grants, 'operate', 'testing')).toBe(false);
    expect(allows(grants, 'read', 'production')).toBe(true);
  });

  it('asks nothing of "authenticated"', () => {
    expect(allows([], 'authenticated')).toBe(true);
    expect(allows([], 'read', 'development')).toBe(false);
  });
});

describe('lockout arithmetic', () => {
  const policy = { maxFailures: 3, windowSeconds: 60 };
  const now = 1_000_000;

  it('does not lock out below the limit', () => {
    expect(lockoutWait([now - 1000, now - 2000], policy, now)).toBe(0);
  });

  it('locks out at the limit until the oldest counted failure leaves the window', () => {
    // Newest first; the third newest (oldest counted) happened 20 s ago: 40 s to wait.
    expect(lockoutWait([now - 1000, now - 5000, now - 20_000], policy, now)).toBe(40);
  });

  it('rounds a partial second up, so a client never retries a moment too early', () => {
    expect(lockoutWait([now, now, now - 59_500], policy, now)).toBe(1);
  });

  it('is over once the oldest counted failure is outside the window', () => {
    expect(lockoutWait([now, now, now - 60_000], policy, now)).toBe(0);
  });
});
