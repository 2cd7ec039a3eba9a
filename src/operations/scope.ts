// How an operation's scope narrows it to part of the program. A program declares its two
// layers as component resources of type stackpilot:scope:Infrastructure and
// stackpilot:scope:Workloads; a scope targets its component and, through the `$**` wildcard
// on the parent-type chain in child URNs, everything created inside it (providers included).
import type { Scope } from './operation.js';

export const SCOPE_COMPONENT_TYPES: Record<Exclude<Scope, 'all'>, string> = {
  infrastructure: 'stackpilot:scope:Infrastructure',
  workloads: 'stackpilot:scope:Workloads',
};

/** URN patterns for `--target`; undefined means the whole stack. */
export function scopeTargets(scope: Scope, stack: string, project: string): string[] | undefined {
  if (scope === 'all') return undefined;
  const type = SCOPE_COMPONENT_TYPES[scope];
  const prefix = `urn:pulumi:${stack}::${project}::${type}`;
  return [`${prefix}::*`, `${prefix}$**`];
}
