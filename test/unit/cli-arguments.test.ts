// The CLI's parsing of --set and --secret, and its exit-code table.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSecret, parseSet } from '../../cli/config-arguments.js';
import { EXIT, exitCodeOf } from '../../cli/exit-codes.js';

describe('CLI arguments', () => {
  it('parses --set key=value with path keys, values keeping their own = signs', () => {
    expect(parseSet('backend.image=registry/app:1.2', parseSet('replicas=3'))).toEqual({ replicas: '3', 'backend.image': 'registry/app:1.2' });
    expect(parseSet('app:flags[0]=a=b')).toEqual({ 'app:flags[0]': 'a=b' });
  });

  it.each(['novalue', '=x', 'bad key=1', 'a..b=1', '1abc=2'])('refuses --set %s as a usage error', (argument) => {
    expect(() => parseSet(argument)).toThrow(expect.objectContaining({ exitCode: EXIT.usage }));
  });

  it('reads --secret values from files only', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cli-secret-')), 'password');
    writeFileSync(file, 's3cret\n');
    expect(parseSecret(`databasePassword=@${file}`)).toEqual({ databasePassword: 's3cret' });
    expect(() => parseSecret('databasePassword=s3cret')).toThrow(expect.objectContaining({ exitCode: EXIT.usage }));
    expect(() => parseSecret('databasePassword=@/nonexistent/file')).toThrow(expect.objectContaining({ exitCode: EXIT.usage }));
  });

  it('maps every status to its exit code', () => {
    expect([exitCodeOf('succeeded'), exitCodeOf('failed'), exitCodeOf('interrupted'), exitCodeOf('cancelled'), exitCodeOf('awaiting_approval'), exitCodeOf('scheduled'), exitCodeOf('something new')])
      .toEqual([0, 1, 1, 2, 3, 3, 1]);
  });
});
