// Configuration keys in the path syntax of `pulumi config set --path`: `backend.image`,
// `aws:region`, `database.hosts[0]`. A key without a namespace belongs to the project, as
// with the CLI. A configuration is the `config:` map of a stack file: top-level keys are
// `namespace:name`, values nest below them, and a secret is `{secure: ciphertext}` at its place.
import { InvalidInputError } from '../errors.js';

export type ConfigMap = Record<string, unknown>;

const SEGMENT = '[A-Za-z_][A-Za-z0-9_-]*';
export const CONFIG_PATH_PATTERN = `^(?:[A-Za-z][A-Za-z0-9_.-]*:)?${SEGMENT}(?:\\.${SEGMENT}|\\[[0-9]{1,4}\\])*$`;
const CONFIG_PATH = new RegExp(CONFIG_PATH_PATTERN);
export const MAX_PATH_LENGTH = 200;

export const SECRET_MASK = '[secret]';
export const MAX_VALUE_LENGTH = 4096;

/** A value a path may be set to: a printable string of bounded length, a finite number or a boolean. */
export function checkValue(value: unknown, field: string): void {
  const fits = typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))
    || (typeof value === 'string' && value.length <= MAX_VALUE_LENGTH && !/[\u0000-\u001f\u007f]/.test(value));
  if (!fits) {
    throw new InvalidInputError('invalid_config_value', `${field} must be a printable string of at most ${MAX_VALUE_LENGTH} characters, a number or a boolean: set nested values by path`, { field });
  }
}

interface ParsedPath {
  /** The top-level key: `namespace:name`. */
  key: string;
  /** Below it: object keys and array indexes. */
  steps: Array<string | number>;
}

export function parsePath(path: string, project: string, field: string): ParsedPath {
  if (path.length > MAX_PATH_LENGTH || !CONFIG_PATH.test(path)) {
    throw new InvalidInputError('invalid_config_path', `${JSON.stringify(path.slice(0, 80))} is not a configuration path: use name, namespace:name, name.field or name[0]`, { field });
  }
  const colon = path.indexOf(':');
  const namespace = colon === -1 ? project : path.slice(0, colon);
  const rest = colon === -1 ? path : path.slice(colon + 1);
  const steps: Array<string | number> = [];
  for (const [, name, index] of rest.matchAll(/([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]/g)) steps.push(name ?? Number(index));
  const [first, ...below] = steps;
  return { key: `${namespace}:${first as string}`, steps: below };
}

export function isSecure(value: unknown): value is { secure: string } {
  return !!value && typeof value === 'object' && !Array.isArray(value) && typeof (value as { secure?: unknown }).secure === 'string'
    && Object.keys(value).length === 1;
}

/** A copy of `config` with `value` at `path` (containers made as needed). */
export function setAt(config: ConfigMap, path: ParsedPath, value: unknown): ConfigMap {
  const out = structuredClone(config);
  if (!path.steps.length) {
    out[path.key] = value;
    return out;
  }
  let parent: Record<string | number, unknown> = out;
  let at: string | number = path.key;
  for (const step of path.steps) {
    const current = parent[at];
    const fits = typeof step === 'number' ? Array.isArray(current) : !!current && typeof current === 'object' && !Array.isArray(current) && !isSecure(current);
    if (!fits) parent[at] = typeof step === 'number' ? [] : {};
    parent = parent[at] as Record<string | number, unknown>;
    at = step;
  }
  parent[at] = value;
  return out;
}

/** A copy of `config` without the value at `path`; unchanged when there is none. */
export function unsetAt(config: ConfigMap, path: ParsedPath): ConfigMap {
  const out = structuredClone(config);
  if (!path.steps.length) {
    delete out[path.key];
    return out;
  }
  let node: unknown = out[path.key];
  for (const step of path.steps.slice(0, -1)) node = node && typeof node === 'object' ? (node as Record<string | number, unknown>)[step] : undefined;
  const last = path.steps.at(-1)!;
  if (Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
  else if (node && typeof node === 'object') delete (node as Record<string, unknown>)[last];
  return out;
}

/**
 * Every leaf of a configuration by its path (the project's namespace left out, as callers
 * write it); a secret is a leaf, shown as "[secret]" unless `keepCiphertext`.
 */
export function flatten(config: ConfigMap, project: string, keepCiphertext = false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (value: unknown, path: string) => {
    if (isSecure(value)) out[path] = keepCiphertext ? value : SECRET_MASK;
    else if (Array.isArray(value)) value.forEach((item, i) => walk(item, `${path}[${i}]`));
    else if (value && typeof value === 'object') for (const [name, item] of Object.entries(value)) walk(item, `${path}.${name}`);
    else out[path] = value;
  };
  for (const [key, value] of Object.entries(config)) walk(value, key.startsWith(`${project}:`) ? key.slice(project.length + 1) : key);
  return out;
}

/** The value at a flattened path (see flatten), or undefined. */
export function valueAt(config: ConfigMap, path: string, project: string): unknown {
  return flatten(config, project, true)[path];
}

export interface ConfigDiff {
  added: string[];
  changed: string[];
  removed: string[];
}

/** Keys added, changed and removed from `before` to `after`; secrets are compared by ciphertext and named by key only. */
export function diffConfig(before: ConfigMap, after: ConfigMap, project: string): ConfigDiff {
  const a = flatten(before, project, true);
  const b = flatten(after, project, true);
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  return {
    added: Object.keys(b).filter((k) => !(k in a)).sort(),
    changed: Object.keys(b).filter((k) => k in a && !same(a[k], b[k])).sort(),
    removed: Object.keys(a).filter((k) => !(k in b)).sort(),
  };
}
