// Reads a stack's state straight from a file:// DIY backend's checkpoint, as `pulumi stack
// export` prints it ({version: 3, deployment}): the same deployment, without a CLI run (a
// process start and the backend's login, some hundreds of milliseconds, which a backup after
// every operation would add to each). Anything else (another backend, a compressed or missing
// checkpoint, a stack never updated) is undefined, and the caller asks the CLI.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function readCheckpoint(backendUrl: string, project: string, stack: string): string | undefined {
  if (!backendUrl.startsWith('file://')) return undefined;
  let checkpoint: { checkpoint?: { latest?: unknown } } | undefined;
  try {
    checkpoint = JSON.parse(readFileSync(join(new URL(backendUrl).pathname, '.pulumi', 'stacks', project, `${stack}.json`), 'utf8'));
  } catch {
    return undefined;
  }
  const deployment = checkpoint?.checkpoint?.latest;
  if (!deployment || typeof deployment !== 'object') return undefined;
  return `${JSON.stringify({ version: 3, deployment }, null, 4)}\n`;
}
