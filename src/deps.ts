import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KnownBlock } from '@slack/types';
import type { Config } from './config.ts';
import type { Db, ReadPart } from './db/db.ts';
import type { Redraws } from './jobs/redraw.ts';
import type { Scheduler } from './jobs/scheduler.ts';
import type { Logger } from './log.ts';
import type { RunbookLibrary } from './runbooks/library.ts';
import type { Metrics } from './slack/metrics.ts';

/** A capability's blocks on a user's App Home tab (bounded: a dozen blocks or so). */
export type HomePart = (user: string) => Promise<KnownBlock[]>;

/** An open rollback run as /readiness shows it. */
export interface OpenRollback {
  id: string;
  runbookId: string;
  title: string;
  channel: string;
  ts?: string;
  startedBy: string;
  startedAt: Date;
  drill: boolean;
}

/** An HTTP route a capability serves beside /slack/events (e.g. a calendar feed); `:name` segments are params. */
export interface Route {
  path: string;
  method: 'GET' | 'POST';
  handler: (req: IncomingMessage & { params: Record<string, string> }, res: ServerResponse) => void | Promise<void>;
}

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
  /** Open rollback runs (set by rollback's register), read by /readiness and the digest within their own statement. */
  openRollbacks?: ReadPart<OpenRollback[]>;
  /** Parts of App Home from capabilities other than checklists, shown above the checklists in order. */
  home: HomePart[];
  /** HTTP routes capabilities add in register(), served beside /healthz by the receiver's HTTP server. */
  routes: Route[];
  /** Run at shutdown after the last request, before the database closes. */
  onStop: Array<() => Promise<void>>;
}
