import { pino, type Logger } from 'pino';

export type { Logger };

/** One pino logger; tokens and secrets are redacted wherever they appear in a logged object. `file`: log there, not stdout. */
export function createLogger(level = 'info', file?: string): Logger {
  const options = {
    level,
    redact: {
      paths: ['token', '*.token', 'headers.authorization', '*.headers.authorization', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'OPENAI_API_KEY', '*.SLACK_BOT_TOKEN', '*.SLACK_SIGNING_SECRET', '*.SLACK_APP_TOKEN', '*.OPENAI_API_KEY'],
      censor: '[redacted]',
    },
  };
  return file ? pino(options, pino.destination({ dest: file, mkdir: true, sync: true })) : pino(options);
}
