// Which resources a refresh preview found changed, from the engine's events. A refresh step
// reads each resource: its outputs event carries the state before (old) and what was read
// (new); they differ when the resource changed behind the engine, and `new` is missing when it
// is gone. Engines that report the refresh's effect as the step's own op (update, delete) are
// read the same way.
import type { EngineEvent } from '../engine/types.js';

export interface DriftedChange {
  urn: string;
  type: string;
  op: string;
}

interface StepMetadata {
  op?: string;
  urn?: string;
  type?: string;
  old?: { outputs?: unknown } | null;
  new?: { outputs?: unknown } | null;
}

/** Ops that say a resource is as its state says. */
const UNCHANGED = new Set(['same', 'read']);

export function driftedChange(event: EngineEvent): DriftedChange | undefined {
  if (event.type !== 'resOutputs' && event.type !== 'resourcePre') return undefined;
  const metadata = (event.payload as { metadata?: StepMetadata } | null)?.metadata;
  if (!metadata?.urn || !metadata.op || UNCHANGED.has(metadata.op)) return undefined;
  const { urn, type = '' } = metadata;
  if (metadata.op !== 'refresh') return { urn, type, op: metadata.op };
  // A refresh step's pre event comes before the read: only its outputs event knows what was found.
  if (event.type !== 'resOutputs') return undefined;
  if (!metadata.new) return { urn, type, op: 'delete' };
  return stable(metadata.old?.outputs) === stable(metadata.new.outputs) ? undefined : { urn, type, op: 'update' };
}

/** JSON with object keys sorted: two reads of the same outputs compare equal whatever their key order. */
function stable(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
    : v));
}
