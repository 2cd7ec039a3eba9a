#!/usr/bin/env node
// The `stackpilot` bin: runs the TypeScript CLI through tsx (a dependency of the service).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./stackpilot.ts');
// Exit as soon as the command has its answer: a stream or long poll still closing keeps nothing open.
process.exit(await main(process.argv.slice(2)));
