import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EnvironmentCatalog } from '../../src/environments/environment-catalog.js';

describe('the stack file as the catalog reads it', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  function project(config: string) {
    const dir = mkdtempSync(join(tmpdir(), 'catalog-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'Pulumi.yaml'), 'name: shop\nruntime: nodejs\n');
    writeFileSync(join(dir, 'Pulumi.development.yaml'), config);
    return dir;
  }

  it('is read again after every write, even one of the same size within the same millisecond', () => {
    const dir = project('config:\n  shop:replicas: "1"\n');
    const catalog = EnvironmentCatalog.load(dir);
    const first = catalog.stackConfig('development');
    expect(catalog.stackConfig('development')).toBe(first); // unchanged: not parsed again
    writeFileSync(join(dir, 'Pulumi.development.yaml'), 'config:\n  shop:replicas: "2"\n');
    const second = catalog.stackConfig('development');
    expect(second.config).toEqual({ 'shop:replicas': '2' });
    expect(second.digest).not.toBe(first.digest);
  });
});
