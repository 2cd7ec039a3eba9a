// What a credential may hand out and manage: only what it holds, production only by name.
import { describe, expect, it } from 'vitest';
import { administeredEnvironments, administersAll, administersEverything, mayGrant } from '../../src/auth/grant-rules.js';
import type { Grant } from '../../src/auth/roles.js';

const devAdmin: Grant[] = [{ role: 'admin', environments: ['development'] }];
const starAdmin: Grant[] = [{ role: 'admin', environments: '*' }];
const everything: Grant[] = [...starAdmin, { role: 'admin', environments: ['production'] }];

describe('grant rules', () => {
  it('grants the same role or a lesser one, on environments held', () => {
    expect(mayGrant(devAdmin, { role: 'admin', environments: ['development'] })).toBe(true);
    expect(mayGrant(devAdmin, { role: 'viewer', environments: ['development'] })).toBe(true);
    expect(mayGrant(devAdmin, { role: 'viewer', environments: ['testing'] })).toBe(false);
    expect(mayGrant(devAdmin, { role: 'viewer', environments: '*' })).toBe(false);
    expect(mayGrant([{ role: 'deployer', environments: '*' }], { role: 'admin', environments: ['development'] })).toBe(false);
  });

  it('compares roles by the permissions they include: approver and deployer hand out neither of each other', () => {
    const deployer: Grant[] = [{ role: 'deployer', environments: '*' }];
    const approver: Grant[] = [{ role: 'approver', environments: '*' }];
    expect(mayGrant(deployer, { role: 'approver', environments: ['development'] })).toBe(false);
    expect(mayGrant(approver, { role: 'deployer', environments: ['development'] })).toBe(false);
    expect(mayGrant(approver, { role: 'viewer', environments: ['development'] })).toBe(true);
    expect(mayGrant(devAdmin, { role: 'approver', environments: ['development'] })).toBe(true);
  });

  it('grants production only to a holder of production by name, "*" being no such grant', () => {
    expect(mayGrant(starAdmin, { role: 'admin', environments: ['production'] })).toBe(false);
    expect(mayGrant(starAdmin, { role: 'viewer', environments: ['production'] })).toBe(false);
    expect(mayGrant(everything, { role: 'admin', environments: ['production'] })).toBe(true);
    expect(mayGrant(starAdmin, { role: 'admin', environments: '*' })).toBe(true);
  });

  it('lets an admin manage a key only within its reach', () => {
    expect(administersAll(devAdmin, [{ role: 'deployer', environments: ['development'] }])).toBe(true);
    expect(administersAll(devAdmin, [{ role: 'viewer', environments: '*' }])).toBe(false);
    expect(administersAll(starAdmin, [{ role: 'viewer', environments: ['production'] }])).toBe(false);
    expect(administersAll(everything, everything)).toBe(true);
  });

  it('knows an admin of everything from one of some environments', () => {
    expect(administersEverything(everything)).toBe(true);
    expect(administersEverything(starAdmin)).toBe(false);
    expect(administeredEnvironments(starAdmin, ['development', 'production'])).toEqual(['development']);
    expect(administeredEnvironments(devAdmin, ['development', 'testing'])).toEqual(['development']);
  });
});
