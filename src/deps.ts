import type { Config } from './config.ts';
import type { Db } from './db/db.ts';
import type { Logger } from './log.ts';
import type { RunbookLibrary } from './runbooks/library.ts';
import type { Metrics } from './slack/metrics.ts';

/** What every capability's listeners get: no globals, so tests can build their own. */
export interface Deps {
  config: Config;
  db: Db;
  library: RunbookLibrary;
  log: Logger;
  metrics: Metrics;
  /** The clock; tests inject a fixed one. */
  now: () => Date;
  /** Run at shutdown after the last request, before the database closes. */
  onStop: Array<() => Promise<void>>;
}
