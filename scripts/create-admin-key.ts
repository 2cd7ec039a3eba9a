// `npm run create-admin-key -- [--principal NAME] [--days N] [--print-only]`
// Creates an admin API key in the configured database (the same settings as the service) and
// prints it once. With --print-only it writes nothing and prints a fresh key to put in
// STACKPILOT_BOOTSTRAP_ADMIN_KEY instead.
import { parseArgs } from 'node:util';
import { ADMIN_GRANTS } from '../src/auth/access-service.js';
import { ApiKeys, MAX_KEY_DAYS, generateKeyToken } from '../src/auth/api-keys.js';
import { ApiKeyRepository } from '../src/store/api-key-repository.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { openDatabase } from '../src/store/database.js';

const { values } = parseArgs({
  options: { principal: { type: 'string', default: 'admin' }, days: { type: 'string', default: '90' }, 'print-only': { type: 'boolean', default: false } },
});

if (values['print-only']) {
  console.log(generateKeyToken());
  process.exit(0);
}

try {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const days = Number(values.days);
  if (!(days >= 1 && days <= MAX_KEY_DAYS)) throw new ConfigError([`--days must be between 1 and ${MAX_KEY_DAYS}`]);
  const { key, token } = await new ApiKeys(new ApiKeyRepository(database.db)).create({ name: `admin key for ${values.principal}`, principal: values.principal!, grants: ADMIN_GRANTS, expiresInDays: days });
  await database.close();
  console.error(`created admin key ${key.id} for ${key.principal}, expiring ${key.expiresAt}; it is shown only now:`);
  console.log(token);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`create-admin-key: ${error.message}`);
  process.exit(1);
}
