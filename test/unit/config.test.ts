import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const projectDir = mkdtempSync(join(tmpdir(), 'stackpilot-config-'));
writeFileSync(join(projectDir, 'Pulumi.yaml'), 'name: p\nruntime: nodejs\n');

describe('configuration', () => {
  it('applies the embedded defaults: SQLite data dir, file:// backend, a generated passphrase kept 0600', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stackpilot-data-'));
    const config = loadConfig({ STACKPILOT_DATA_DIR: dataDir, STACKPILOT_PROJECT_DIR: projectDir });
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8080, dataDir, stateBackendUrl: `file://${dataDir}/state`, maxParallelOperations: 4 });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.secretsPassphrase).toHaveLength(43);
    expect(loadConfig({ STACKPILOT_DATA_DIR: dataDir, STACKPILOT_PROJECT_DIR: projectDir }).secretsPassphrase).toBe(config.secretsPassphrase);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lists every bad setting in one error, by variable name', () => {
    let error: unknown;
    try {
      loadConfig({
        STACKPILOT_PORT: '99999', STACKPILOT_MAX_PARALLEL: 'many', DATABASE_URL: 'mysql://x',
        STACKPILOT_LOG_LEVEL: 'loud', STACKPILOT_PROJECT_DIR: '/nonexistent',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['STACKPILOT_PORT', 'STACKPILOT_MAX_PARALLEL', 'DATABASE_URL', 'STACKPILOT_LOG_LEVEL', 'STACKPILOT_PROJECT_DIR']) {
      expect(message).toContain(name);
    }
  });

  it('never puts a secret setting into its error message', () => {
    expect(() => loadConfig({ STACKPILOT_SECRETS_PASSPHRASE: 'short', STACKPILOT_PROJECT_DIR: projectDir }))
      .toThrow(/STACKPILOT_SECRETS_PASSPHRASE/);
    try {
      loadConfig({ STACKPILOT_SECRETS_PASSPHRASE: 'short', DATABASE_URL: 'mysql://user:hunter2@db', STACKPILOT_PROJECT_DIR: projectDir });
    } catch (error) {
      expect(String(error)).not.toContain('hunter2');
      expect(String(error)).not.toContain('short');
    }
  });
});
