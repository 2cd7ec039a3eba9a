// Process entry: read config, start the service, listen, and shut down gracefully on
// SIGTERM/SIGINT (stop claiming, let running operations finish within the grace period, then
// cancel them, so no engine process outlives the service). Start-up problems are one line.
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { StartupError, startService } from './service.js';

function fail(message: string): never {
  process.stderr.write(`stackpilot: ${message}\n`);
  process.exit(1);
}

let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  fail(error.message);
}

const logger = createLogger(config.logLevel);
const service = await startService(config, logger).catch((error: unknown) => {
  if (error instanceof StartupError) fail(`cannot start: ${error.message}`);
  throw error;
});
const address = await service.app.listen({ host: config.host, port: config.port });
logger.info({ address }, 'listening');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down');
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
