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

  it('reads the integrations settings: lists, CIDR ranges, the metrics listener, secrets from files', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stackpilot-data-'));
    const base = { STACKPILOT_DATA_DIR: dataDir, STACKPILOT_PROJECT_DIR: projectDir };
    expect(loadConfig(base)).toMatchObject({
      webhookAllow: [], webhookRetrySeconds: [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400],
      metricsHost: '127.0.0.1', metricsPort: 9464, slackApiUrl: 'https://slack.com/api',
    });
    const secretFile = join(dataDir, 'slack-signing-secret');
    writeFileSync(secretFile, 'from-a-file-0123\n');
    expect(loadConfig({ ...base, STACKPILOT_WEBHOOK_ALLOW: '10.20.0.0/16, fd00::/8', STACKPILOT_WEBHOOK_RETRY_SECONDS: '0,1,2', STACKPILOT_SLACK_SIGNING_SECRET_FILE: secretFile }))
      .toMatchObject({ webhookAllow: ['10.20.0.0/16', 'fd00::/8'], webhookRetrySeconds: [0, 1, 2], slackSigningSecret: 'from-a-file-0123' });
    const message = errorOf(() => loadConfig({ ...base, STACKPILOT_WEBHOOK_ALLOW: '10.0.0.0/33', STACKPILOT_WEBHOOK_RETRY_SECONDS: 'soon', STACKPILOT_METRICS_PORT: '-1' }));
    for (const name of ['STACKPILOT_WEBHOOK_ALLOW', 'STACKPILOT_WEBHOOK_RETRY_SECONDS', 'STACKPILOT_METRICS_PORT']) expect(message).toContain(name);
  });

  it('lists every bad setting in one error, by variable name', () => {
    const message = errorOf(() => loadConfig({
      STACKPILOT_PORT: '99999', STACKPILOT_MAX_PARALLEL: 'many', DATABASE_URL: 'mysql://x',
      STACKPILOT_LOG_LEVEL: 'loud', STACKPILOT_PROJECT_DIR: '/nonexistent',
    }));
    for (const name of ['STACKPILOT_PORT', 'STACKPILOT_MAX_PARALLEL', 'DATABASE_URL', 'STACKPILOT_LOG_LEVEL', 'STACKPILOT_PROJECT_DIR']) {
      expect(message).toContain(name);
    }
  });

  it('never puts a secret setting into its error message', () => {
    expect(() => loadConfig({ STACKPILOT_SECRETS_PASSPHRASE: 'short', STACKPILOT_PROJECT_DIR: projectDir }))
      .toThrow(/STACKPILOT_SECRETS_PASSPHRASE/);
    const message = errorOf(() => loadConfig({ STACKPILOT_SECRETS_PASSPHRASE: 'short', DATABASE_URL: 'mysql://user:hunter2@db', STACKPILOT_PROJECT_DIR: projectDir }));
    expect(message).toMatch(/DATABASE_URL/);
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('short');
  });

  it('reads each secret from NAME_FILE, and hands the engine the passphrase as a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stackpilot-secrets-'));
    writeFileSync(join(dir, 'passphrase'), 'a passphrase from a mounted secret\n');
    writeFileSync(join(dir, 'database-url'), 'postgres://stackpilot:s3cret@db/stackpilot\n');
    const config = loadConfig({
      STACKPILOT_DATA_DIR: join(dir, 'data'), STACKPILOT_PROJECT_DIR: projectDir,
      STACKPILOT_SECRETS_PASSPHRASE_FILE: join(dir, 'passphrase'), DATABASE_URL_FILE: join(dir, 'database-url'),
    });
    expect(config.secretsPassphrase).toBe('a passphrase from a mounted secret');
    expect(config.secretsPassphraseFile).toBe(join(dir, 'passphrase'));
    expect(config.databaseUrl).toBe('postgres://stackpilot:s3cret@db/stackpilot');
    expect(errorOf(() => loadConfig({ STACKPILOT_PROJECT_DIR: projectDir, DATABASE_URL_FILE: join(dir, 'missing') }))).toContain('DATABASE_URL_FILE: cannot read');
    expect(errorOf(() => loadConfig({ STACKPILOT_PROJECT_DIR: projectDir, DATABASE_URL: 'postgres://a', DATABASE_URL_FILE: join(dir, 'database-url') }))).toContain('both set');
  });

  it('asks for the TLS certificate and key together, and for files that exist', () => {
    expect(errorOf(() => loadConfig({ STACKPILOT_PROJECT_DIR: projectDir, STACKPILOT_TLS_CERT: '/nonexistent/cert.pem' })))
      .toMatch(/STACKPILOT_TLS_CERT and STACKPILOT_TLS_KEY go together.*STACKPILOT_TLS_CERT: no file/);
  });
});

describe('OIDC issuers', () => {
  const issuer = (jwksUri: string, claims: Record<string, string> = { repository: 'toronto/agent' }) => JSON.stringify([{
    issuer: 'https://ci.example', audience: 'stackpilot', jwksUri, rules: [{ claims, grants: [{ role: 'viewer', environments: '*' }] }],
  }]);

  it('refuses a plain-http key set off loopback, and a rule with no claims (it would match every token of its issuer)', () => {
    expect(errorOf(() => loadConfig({ STACKPILOT_PROJECT_DIR: projectDir, STACKPILOT_OIDC_ISSUERS: issuer('http://keys.example/jwks') }))).toContain('STACKPILOT_OIDC_ISSUERS');
    expect(errorOf(() => loadConfig({ STACKPILOT_PROJECT_DIR: projectDir, STACKPILOT_OIDC_ISSUERS: issuer('https://keys.example/jwks', {}) }))).toContain('STACKPILOT_OIDC_ISSUERS');
    for (const uri of ['https://keys.example/jwks', 'http://127.0.0.1:8123/jwks', 'http://localhost/jwks']) {
      expect(loadConfig({ STACKPILOT_PROJECT_DIR: projectDir, STACKPILOT_DATA_DIR: mkdtempSync(join(tmpdir(), 'stackpilot-data-')), STACKPILOT_OIDC_ISSUERS: issuer(uri) }).oidcIssuers).toHaveLength(1);
    }
  });
});

function errorOf(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
}
