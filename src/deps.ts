import type { KnownBlock } from '@slack/types';
import type { Config } from './config.ts';
import type { Db } from './db/db.ts';
import type { Redraws } from './jobs/redraw.ts';
import type { Scheduler } from './jobs/scheduler.ts';
import type { Logger } from './log.ts';
import type { RunbookLibrary } from './runbooks/library.ts';
import type { Metrics } from './slack/metrics.ts';

/** A capability's blocks on a user's App Home tab (bounded: a dozen blocks or so). */
export type HomePart = (user: string) => Promise<KnownBlock[]>;

/** What every capability's listeners get: no globals, so tests can build their own. */
export interface Deps {
  config: Config;
  db: Db;
  library: RunbookLibrary;
  log: Logger;
  metrics: Metrics;
  /** The clock; tests inject a fixed one. */
  now: () => Date;
  /** The app's one scheduler: capabilities define their jobs on it in register(). */
  jobs: Scheduler;
  /** Messages updated in place (checklists, rollback runs), converging to the database across instances. */
  redraws: Redraws;
  /**
   * Who is on call at `at` (set by oncall's register; until then undefined and callers fall back, e.g. to a
   * runbook's owner). One entry per rotation with someone on call.
   */
  onCall?: (at: Date) => Promise<Array<{ rotationId: string; rotationName: string; userId: string }>>;
  /** Open rollback runs (set by rollback's register), for /readiness and App Home. */
  openRollbacks?: () => Promise<Array<{ id: string; runbookId: string; title: string; channel: string; ts?: string; startedBy: string; startedAt: Date; drill: boolean }>>;
  /** Parts of App Home from capabilities other than checklists, shown above the checklists in order. */
  home: HomePart[];
  /** Run at shutdown after the last request, before the database closes. */
  onStop: Array<() => Promise<void>>;
}
