// What recovery reads in a stack's exported state (`pulumi stack export`): its resources, the
// stack's outputs, and whether every resource belongs to the stack it is about to be imported
// into. Secrets stay ciphertext throughout; outputs are redacted before anyone sees them.
import { redactState } from '../engine/pulumi-engine.js';

export interface ExportedResource {
  urn: string;
  type: string;
  outputs?: Record<string, unknown>;
}

export interface StateExport {
  version: number;
  deployment: { resources?: ExportedResource[] | null; [key: string]: unknown };
}

/** The type of the root resource, whose outputs are the stack's outputs. */
const STACK_TYPE = 'pulumi:pulumi:Stack';

/** The parsed export, or undefined when the text is not one. */
export function parseStateExport(text: string): StateExport | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const state = value as Partial<StateExport> | null;
  if (!state || typeof state !== 'object' || typeof state.version !== 'number' || !state.deployment || typeof state.deployment !== 'object') return undefined;
  const resources = state.deployment.resources;
  if (resources != null && (!Array.isArray(resources) || resources.some((r) => typeof r?.urn !== 'string' || typeof r?.type !== 'string'))) return undefined;
  return state as StateExport;
}

export function resourcesOf(state: StateExport): ExportedResource[] {
  return state.deployment.resources ?? [];
}

/**
 * URNs that do not belong to `stack` of `project` (urn:pulumi:<stack>::<project>::...):
 * importing them would make this stack claim another stack's resources.
 */
export function foreignUrns(state: StateExport, project: string, stack: string): string[] {
  const prefix = `urn:pulumi:${stack}::${project}::`;
  return resourcesOf(state).map((r) => r.urn).filter((urn) => !urn.startsWith(prefix));
}

/** The stack's outputs in this state, every secret as "[secret]". */
export function stackOutputs(state: StateExport): Record<string, unknown> {
  const stack = resourcesOf(state).find((r) => r.type === STACK_TYPE);
  return (redactState(stack?.outputs ?? {}) as Record<string, unknown>);
}
