// `npm run restore -- <file>`: restores a backup made by `npm run backup` into the configured
// database, which must be empty (a new PostgreSQL database, or a data dir without one). It
// refuses a database that holds anything, and writes nothing then.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../src/config.js';
import { restoreDatabase } from '../src/store/database-backup.js';

const { positionals } = parseArgs({ allowPositionals: true, options: {} });

try {
  if (positionals.length !== 1) throw new ConfigError(['give one backup file: npm run restore -- <file>']);
  const config = loadConfig();
  const { dialect } = await restoreDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }, resolve(positionals[0]!));
  console.error(`restored the ${dialect} database from ${positionals[0]}`);
} catch (error) {
  console.error(`restore: ${(error as Error).message}`);
  process.exit(1);
}
