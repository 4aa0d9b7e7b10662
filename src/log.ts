import { pino, type Logger } from 'pino';

export type { Logger };

/** One pino logger; tokens and secrets are redacted wherever they appear in a logged object. */
export function createLogger(level = 'info'): Logger {
  return pino({
    level,
    redact: {
      paths: ['token', '*.token', 'headers.authorization', '*.headers.authorization', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'OPENAI_API_KEY', '*.SLACK_BOT_TOKEN', '*.SLACK_SIGNING_SECRET', '*.SLACK_APP_TOKEN', '*.OPENAI_API_KEY'],
      censor: '[redacted]',
    },
  });
}
