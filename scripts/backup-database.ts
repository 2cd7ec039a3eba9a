// `npm run backup -- --out <file>`: a consistent copy of the service's own database (the same
// settings as the service), taken while it runs: SQLite's online backup API, or pg_dump
// (custom format) for PostgreSQL. What it holds and leaves out: README, "Backups and restores".
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../src/config.js';
import { backupDatabase } from '../src/store/database-backup.js';

const { values } = parseArgs({ options: { out: { type: 'string' } } });

try {
  if (!values.out) throw new ConfigError(['--out <file> is required']);
  const config = loadConfig();
  const out = resolve(values.out);
  const { dialect, bytes } = await backupDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }, out);
  console.error(`backed up the ${dialect} database to ${out} (${bytes} bytes)`);
} catch (error) {
  console.error(`backup: ${(error as Error).message}`);
  process.exit(1);
}
