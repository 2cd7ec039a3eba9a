// `npm run dr-drill -- [--work-dir DIR] [--rto-target-seconds 900] [--scratch-database-url URL] [--report FILE]`
// Rebuilds the service from its newest backups in a fresh data dir and an empty state backend
// (with the service's own settings for everything else), runs a refresh preview of each
// environment against what really runs, prints RPO and RTO per environment against their
// targets, writes the same report as JSON, and exits 1 when a target is missed. With
// PostgreSQL it restores into --scratch-database-url, which must be an empty database.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { drillTable, runDrill } from '../src/recovery/dr-drill.js';

const { values } = parseArgs({
  options: {
    'work-dir': { type: 'string' }, 'rto-target-seconds': { type: 'string', default: '900' },
    'scratch-database-url': { type: 'string' }, report: { type: 'string' },
  },
});

try {
  const config = loadConfig();
  const rtoTargetSeconds = Number(values['rto-target-seconds']);
  if (!(rtoTargetSeconds > 0)) throw new ConfigError(['--rto-target-seconds must be a positive number']);
  if (config.databaseUrl && !values['scratch-database-url']) throw new ConfigError(['with PostgreSQL, --scratch-database-url names the empty database the drill restores into']);
  const workDir = resolve(values['work-dir'] ?? mkdtempSync(join(tmpdir(), 'stackpilot-dr-drill-')));
  const report = await runDrill({
    config, workDir, scratchDatabaseUrl: values['scratch-database-url'], rtoTargetSeconds, logger: createLogger('warn', process.stderr),
  });
  const file = resolve(values.report ?? join(workDir, 'dr-drill-report.json'));
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(drillTable(report));
  console.log(`${report.pass ? 'every target met' : 'a target was missed'}; report: ${file}`);
  process.exit(report.pass ? 0 : 1);
} catch (error) {
  console.error(`dr-drill: ${(error as Error).message}`);
  process.exit(2);
}
