// Types for real-node-leftovers.mjs, as far as tests use it.
export function leftovers(dir: string): string[];
