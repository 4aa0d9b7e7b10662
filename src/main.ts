import { join } from 'node:path';
import { boot } from './boot.ts';
import { ConfigError, loadConfig, loadDotEnv } from './config.ts';
import { startConsole } from './console/index.ts';
import { isUnavailable } from './db/db.ts';
import { DataDirLockedError } from './db/lock.ts';
import { MigrationError } from './db/migrate.ts';
import { createLogger } from './log.ts';
import { SlackAuthError } from './slack/app.ts';

loadDotEnv();
let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

// In the console, log lines would land among the answers: they go to a file the console names once.
const logFile = config.mode === 'console' ? join(config.PREFLIGHT_DATA_DIR, 'preflight.log') : undefined;
const log = createLogger(config.mode === 'console' ? 'warn' : config.LOG_LEVEL, logFile);
try {
  if (config.mode === 'console') {
    await startConsole(config, log, logFile);
  } else {
    const preflight = await boot(config, {
      mode: config.mode,
      token: config.SLACK_BOT_TOKEN!,
      signingSecret: config.SLACK_SIGNING_SECRET,
      appToken: config.SLACK_APP_TOKEN,
      port: config.PORT,
      apiUrl: config.SLACK_API_URL,
    }, { log });
    log.info({ mode: config.mode, port: preflight.port }, 'Preflight is serving Slack');
    // SIGTERM: stop taking requests, let in-flight ones finish, close the pool, then exit.
    const shutdown = async (signal: string) => {
      log.info({ signal }, 'shutting down');
      await preflight.stop().catch((err) => log.error({ err }, 'error during shutdown'));
      process.exit(0);
    };
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
  }
} catch (err) {
  if (isUnavailable(err)) console.error(`Cannot reach the database (DATABASE_URL): ${(err as Error).message}`);
  else if (err instanceof MigrationError) console.error(`Database migration problem: ${err.message}`);
  else if (err instanceof SlackAuthError || err instanceof DataDirLockedError) console.error(err.message);
  else console.error(err);
  process.exit(1);
}
