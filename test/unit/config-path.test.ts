// Configuration paths as `pulumi config set --path` reads them, and changes and diffs of a
// stack file's `config:` map.
import { describe, expect, it } from 'vitest';
import { diffConfig, flatten, parsePath, setAt, unsetAt } from '../../src/releases/config-path.js';

const project = 'toronto-ai-team-agent';

describe('configuration paths', () => {
  it('puts a key without a namespace in the project\'s, and reads fields and indexes', () => {
    expect(parsePath('backend.image', project, 'f')).toEqual({ key: `${project}:backend`, steps: ['image'] });
    expect(parsePath('aws:region', project, 'f')).toEqual({ key: 'aws:region', steps: [] });
    expect(parsePath('hosts[1].name', project, 'f')).toEqual({ key: `${project}:hosts`, steps: [1, 'name'] });
  });

  it('refuses what is not a path, naming the field', () => {
    for (const bad of ['', 'a..b', 'a b', '.a', 'a.', 'a[x]', 'x'.repeat(201), 'a:b:c']) {
      expect(() => parsePath(bad, project, 'set.x'), bad).toThrow(expect.objectContaining({ code: 'invalid_config_path', details: { field: 'set.x' } }));
    }
  });

  it('sets and unsets below existing values without touching the original', () => {
    const base = { [`${project}:backend`]: { image: 'b:1', replicas: 1 } };
    const set = setAt(base, parsePath('backend.image', project, 'f'), 'b:2');
    expect(set).toEqual({ [`${project}:backend`]: { image: 'b:2', replicas: 1 } });
    expect(base[`${project}:backend`].image).toBe('b:1');
    const listed = setAt(set, parsePath('hosts[0]', project, 'f'), 'a.example');
    expect(listed[`${project}:hosts`]).toEqual(['a.example']);
    expect(unsetAt(listed, parsePath('backend.replicas', project, 'f'))).toEqual({ [`${project}:backend`]: { image: 'b:2' }, [`${project}:hosts`]: ['a.example'] });
  });

  it('shows secrets as "[secret]" and diffs them by key only', () => {
    const before = { [`${project}:db`]: { password: { secure: 'v1:aaa' }, name: 'x' } };
    const after = { [`${project}:db`]: { password: { secure: 'v1:bbb' } }, 'aws:region': 'ca-central-1' };
    expect(flatten(after, project)).toEqual({ 'db.password': '[secret]', 'aws:region': 'ca-central-1' });
    expect(diffConfig(before, after, project)).toEqual({ added: ['aws:region'], changed: ['db.password'], removed: ['db.name'] });
  });
});
