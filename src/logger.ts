// The one logger: structured (pino), with credentials and secrets redacted at the source, so a
// careless log call cannot print them.
import { pino, type Logger, type LoggerOptions } from 'pino';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  '*.passphrase',
  '*.secretsPassphrase',
  '*.databaseUrl',
  '*.password',
  '*.token',
  '*.apiKey',
  'config.secretsPassphrase',
  'config.databaseUrl',
  'config.stateBackendUrl',
  'config.slackSigningSecret',
  'config.slackBotToken',
  'config.metricsToken',
  '*.secret',
  '*.signingSecret',
  '*.botToken',
  '*.responseUrl',
  '*.response_url',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'stackpilot', pid: process.pid },
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
