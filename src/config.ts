import { existsSync } from 'node:fs';
import { validate as validCron } from 'node-cron';
import { z } from 'zod';

// Empty strings count as unset, so `FOO=` in .env falls back to the default (t3-env's emptyStringAsUndefined).
const optional = <T extends z.ZodTypeAny>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

const postgresUrl = z.string().refine((v) => {
  try {
    return ['postgres:', 'postgresql:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}, 'must be a postgres:// or postgresql:// URL');

const userList = z
  .string()
  .transform((v) => v.split(/[\s,]+/).filter(Boolean));

const schema = z.object({
  SLACK_BOT_TOKEN: optional(z.string().startsWith('xoxb-', 'must start with xoxb-')),
  SLACK_SIGNING_SECRET: optional(z.string().min(8, 'is too short')),
  SLACK_APP_TOKEN: optional(z.string().startsWith('xapp-', 'must start with xapp-')),
  SLACK_API_URL: optional(z.url()).default('https://slack.com/api/'),
  PORT: optional(z.coerce.number().int().min(0).max(65535)).default(3000),
  DATABASE_URL: optional(postgresUrl),
  PREFLIGHT_DATA_DIR: optional(z.string()).default('.data'),
  RUNBOOKS_DIR: optional(z.string()).default('runbooks'),
  DIGEST_CHANNEL: optional(z.string()),
  DIGEST_CRON: optional(z.string().refine(validCron, 'is not a cron expression (node-cron: [second] minute hour day month weekday)')).default('0 9 * * 1-5'),
  DIGEST_TIMEZONE: optional(z.string().refine(validTimeZone, 'is not an IANA time zone')).default('UTC'),
  ADMIN_USERS: optional(userList).default([]),
  TEAM_TIMEZONE: optional(z.string().refine(validTimeZone, 'is not an IANA time zone')).default('UTC'),
  OPENAI_API_KEY: optional(z.string()),
  OPENAI_BASE_URL: optional(z.url()),
  OPENAI_MODEL: optional(z.string()).default('gpt-4o-mini'),
  PUBLIC_URL: optional(z.url()),
  // /runbook ask waits this long for the model before answering with the closest sections (response_url lives 30 min).
  ASK_MODEL_TIMEOUT_MS: optional(z.coerce.number().int().min(100).max(60000)).default(8000),
  LOG_LEVEL: optional(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])).default('info'),
});

export type Config = z.infer<typeof schema> & {
  /** How Preflight talks to Slack: HTTP receiver, Socket Mode, or the local console. */
  mode: 'http' | 'socket' | 'console';
};

/** Raised with every problem in the environment at once, each naming its variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Parses the environment once; throws ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const c = parsed.data;
  const problems: string[] = [];
  let mode: Config['mode'] = 'console';
  if (c.SLACK_APP_TOKEN) {
    mode = 'socket';
    if (!c.SLACK_BOT_TOKEN) problems.push('SLACK_BOT_TOKEN: required with SLACK_APP_TOKEN (Socket Mode)');
  } else if (c.SLACK_BOT_TOKEN || c.SLACK_SIGNING_SECRET) {
    mode = 'http';
    if (!c.SLACK_BOT_TOKEN) problems.push('SLACK_BOT_TOKEN: required with SLACK_SIGNING_SECRET');
    if (!c.SLACK_SIGNING_SECRET) problems.push('SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN (HTTP mode)');
  }
  if (problems.length) throw new ConfigError(problems);
  return { ...c, mode };
}

/** Reads `.env` into process.env when present; variables already set win. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
