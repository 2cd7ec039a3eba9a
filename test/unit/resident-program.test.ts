// Which programs a resident language host may run: a CommonJS package entry with plain node
// arguments (what a program bundle is); anything that must be compiled, loaded as an ES module
// or preloaded per run goes cold.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { residentProgram } from '../../src/engine/resident-hosts.js';

let dir: string;

function project(pulumiYaml: string, files: Record<string, string> = { 'bundle/package.json': '{"type": "commonjs", "main": "index.js"}', 'bundle/index.js': '' }) {
  writeFileSync(join(dir, 'Pulumi.yaml'), pulumiYaml);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

const runtime = (options: string) => `name: demo\nruntime:\n  name: nodejs\n  options:\n${options}\nmain: bundle/\n`;

describe('residentProgram', () => {
  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'resident-program-')));
    mkdirSync(join(dir, 'node_modules'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('takes a bundle: its entry file, its node_modules and its plain node arguments', () => {
    project(runtime('    typescript: false\n    nodeargs: --max-old-space-size=512'));
    expect(residentProgram(dir)).toEqual({
      dir: join(dir, 'bundle'), entry: join(dir, 'bundle', 'index.js'), modulesDir: join(dir, 'node_modules'), nodeArgs: ['--max-old-space-size=512'],
    });
  });

  it.each([
    ['a program Pulumi compiles (typescript not false)', runtime('    typescript: true'), undefined],
    ['a loader in its node arguments', runtime('    typescript: false\n    nodeargs: --import tsx'), undefined],
    ['a preload written with =', runtime('    typescript: false\n    nodeargs: --require=./trace.js'), undefined],
    ['an ES module package', runtime('    typescript: false'), { 'bundle/package.json': '{"type": "module", "main": "index.js"}', 'bundle/index.js': '' }],
    ['a package with exports (resolved by the run script, not here)', runtime('    typescript: false'), { 'bundle/package.json': '{"exports": "./index.js"}', 'bundle/index.js': '' }],
    ['a main that is a file', 'name: demo\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n', { 'index.js': '' }],
    ['a TypeScript entry', runtime('    typescript: false'), { 'bundle/package.json': '{"main": "index.ts"}', 'bundle/index.ts': '' }],
    ['another runtime', 'name: demo\nruntime: python\nmain: bundle/\n', undefined],
  ])('leaves %s to a cold run', (_, pulumiYaml, files) => {
    project(pulumiYaml, files);
    expect(residentProgram(dir)).toBeUndefined();
  });
});
