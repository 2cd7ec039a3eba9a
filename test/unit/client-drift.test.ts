// The committed spec and the client generated from it are what the code produces now: a route
// whose schema changed without `npm run openapi` fails here, before any caller meets it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLIENT_TYPES_FILE, SPEC_FILE, generateClientTypes, generateSpec } from '../../scripts/write-openapi.js';

describe('the generated client', () => {
  it('is generated from the committed spec, which is what the routes declare', async () => {
    const committedSpec = JSON.parse(readFileSync(SPEC_FILE, 'utf8'));
    expect(await generateSpec(), 'openapi/openapi.json is stale: run `npm run openapi`').toEqual(committedSpec);
    expect(readFileSync(CLIENT_TYPES_FILE, 'utf8'), 'clients/typescript/schema.d.ts is stale: run `npm run openapi`')
      .toBe(await generateClientTypes(committedSpec));
  });
});
