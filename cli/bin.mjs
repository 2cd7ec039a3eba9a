#!/usr/bin/env node
// The `stackpilot` bin: runs the TypeScript CLI through tsx (a dependency of the service).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./stackpilot.ts');
process.exitCode = await main(process.argv.slice(2));
