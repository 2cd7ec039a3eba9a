// Reads the locks a DIY state backend holds on a stack: lock files under
// .pulumi/locks/organization/<project>/<stack>/ in a file:// folder, or the same keys in the
// table of a postgres:// backend. Other backends' locks cannot be read here (undefined).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { StackLock } from './types.js';

export async function readStackLocks(backendUrl: string, project: string, stack: string): Promise<StackLock[] | undefined> {
  const prefix = `.pulumi/locks/organization/${project}/${stack}/`;
  if (backendUrl.startsWith('file://')) {
    const dir = join(new URL(backendUrl).pathname, prefix);
    let names: string[];
    try {
      names = readdirSync(dir).filter((name) => name.endsWith('.json'));
    } catch {
      return [];
    }
    return names.flatMap((name) => parseLock(() => readFileSync(join(dir, name), 'utf8')));
  }
  if (/^postgres(ql)?:\/\//.test(backendUrl)) {
    const url = new URL(backendUrl);
    const table = url.searchParams.get('table') ?? 'pulumi_state';
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(table)) return undefined;
    url.searchParams.delete('table');
    const client = new pg.Client({ connectionString: url.toString() });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ data: unknown }>(`select data from ${table} where key like $1`, [`${prefix}%`]);
      // Each blob is stored as JSON holding its bytes in base64: {"data": "..."}.
      return rows.flatMap((row) => parseLock(() => {
        const blob = (typeof row.data === 'string' ? JSON.parse(row.data) : row.data) as { data: string };
        return Buffer.from(blob.data, 'base64').toString('utf8');
      }));
    } catch {
      return undefined;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return undefined;
}

function parseLock(read: () => string): StackLock[] {
  try {
    const lock = JSON.parse(read()) as Partial<StackLock>;
    return [{ pid: Number(lock.pid), username: String(lock.username ?? ''), hostname: String(lock.hostname ?? ''), timestamp: String(lock.timestamp ?? '') }];
  } catch {
    return []; // removed while being read, or not a lock
  }
}
