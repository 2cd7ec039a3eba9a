// A postgres:// state backend's password must not ride in the engine's environment, where any
// program the engine runs could read it (/proc/<ancestor>/environ). The CLI gets the URL without
// it and a password file (libpq's format, which the backend's driver reads through PGPASSFILE)
// that only the service's user can read.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BackendForEngine {
  /** The backend URL with no password in it. */
  url: string;
  /** Variables that give the engine the password another way. */
  env: Record<string, string>;
}

const escape = (field: string) => field.replace(/\\/g, '\\\\').replace(/:/g, '\\:');

export function backendForEngine(backendUrl: string, dataDir: string): BackendForEngine {
  if (!/^postgres(ql)?:\/\//.test(backendUrl)) return { url: backendUrl, env: {} };
  const url = new URL(backendUrl);
  if (!url.password) return { url: backendUrl, env: {} };
  const password = decodeURIComponent(url.password);
  const file = join(dataDir, 'state-backend.pgpass');
  const database = url.pathname.replace(/^\//, '') || '*';
  writeFileSync(file, `${[url.hostname, url.port || '5432', database, decodeURIComponent(url.username), password].map(escape).join(':')}\n`, { mode: 0o600 });
  url.password = '';
  return { url: url.toString(), env: { PGPASSFILE: file } };
}
