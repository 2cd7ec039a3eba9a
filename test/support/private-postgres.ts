// A PostgreSQL server of the test's own, from Debian's binaries, in a temporary folder on a
// free port: a test may restart or stop it without touching the machine's shared server.
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivatePostgres {
  url: string;
  /** Stops the server (fast shutdown: sessions are cut, as in a restart or a failover). */
  stop(): void;
  start(): void;
  /** Stops it for good and removes its files. */
  destroy(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    }).on('error', reject);
  });
}

/** With `password`, the superuser needs it (scram-sha-256) instead of being trusted. */
export async function startPrivatePostgres(options: { password?: string } = {}): Promise<PrivatePostgres> {
  const version = readdirSync('/usr/lib/postgresql').sort().at(-1)!;
  const bin = join('/usr/lib/postgresql', version, 'bin');
  const owner = { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) };
  const dir = mkdtempSync(join(tmpdir(), 'stackpilot-pg-'));
  chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const port = await freePort();
  const run = (tool: string, args: string[]) => execFileSync(join(bin, tool), args, { ...owner, cwd: dir, stdio: 'ignore' });
  if (options.password) {
    writeFileSync(join(dir, 'pwfile'), options.password);
    chownSync(join(dir, 'pwfile'), owner.uid, owner.gid);
    run('initdb', ['-D', data, '-A', 'scram-sha-256', '-U', 'postgres', '--pwfile', join(dir, 'pwfile'), '--no-sync']);
  } else {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  }
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const start = () => run('pg_ctl', ['-D', data, '-o', serverOptions, '-w', '-l', join(dir, 'log'), 'start']);
  start();
  return {
    url: options.password ? `postgres://postgres:${encodeURIComponent(options.password)}@127.0.0.1:${port}/postgres` : `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => run('pg_ctl', ['-D', data, '-w', '-m', 'fast', 'stop']),
    start,
    destroy: () => {
      try {
        run('pg_ctl', ['-D', data, '-w', '-m', 'immediate', 'stop']);
      } catch {
        // not running
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
