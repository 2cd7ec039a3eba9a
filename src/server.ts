// Process entry: read config, start the service, listen, and shut down gracefully (stop
// claiming, let running operations finish within the grace period, then cancel them, so no
// engine process outlives the service) on SIGTERM or SIGINT, however often they come, and
// when the process that started this one goes away without passing a signal on (npm does
// that). Start-up problems are one line.
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { removeHandoff, restartWithoutSecretVariables } from './secret-handoff.js';
import { StartupError, startService } from './service.js';
import { onShutdownRequest } from './shutdown.js';

function fail(message: string): never {
  process.stderr.write(`stackpilot: ${message}\n`);
  process.exit(1);
}

restartWithoutSecretVariables();
let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  fail(error.message);
} finally {
  removeHandoff();
}

const logger = createLogger(config.logLevel);
const service = await startService(config, logger).catch((error: unknown) => {
  if (error instanceof StartupError) fail(`cannot start: ${error.message}`);
  throw error;
});
const address = await service.app.listen({ host: config.host, port: config.port });
logger.info({ address }, 'listening');

onShutdownRequest((reason, repeated) => {
  if (repeated) {
    logger.info({ reason }, 'already shutting down: running operations get their grace period, then one cancel');
    return;
  }
  logger.info({ reason }, 'shutting down');
  service.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
});
