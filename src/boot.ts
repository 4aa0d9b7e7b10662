import { registerCapabilities } from './capabilities.ts';
import type { Config } from './config.ts';
import { connectDb, type Db } from './db/index.ts';
import { migrate } from './db/migrate.ts';
import type { Deps } from './deps.ts';
import { Redraws } from './jobs/redraw.ts';
import { Scheduler } from './jobs/scheduler.ts';
import { createLogger, type Logger } from './log.ts';
import { RunbookLibrary } from './runbooks/library.ts';
import { indexRunbooks } from './runbooks/store.ts';
import { createSlackApp, type SlackServer, type SlackTransport } from './slack/app.ts';
import { Metrics } from './slack/metrics.ts';

export interface BootOptions {
  /** PostgreSQL schema to run in (tests use a fresh one per file). */
  schema?: string;
  /** Reload runbooks on file change (on by default). */
  watch?: boolean;
  log?: Logger;
  now?: () => Date;
  /** An already-open database (tests share one PGlite per file). */
  db?: Db;
  /** How often the scheduler polls for due jobs; 0 leaves it to the caller (tests run `deps.jobs.runDue()`). */
  pollMs?: number;
}

export interface Preflight {
  deps: Deps;
  server: SlackServer;
  /** The HTTP port (HTTP mode). */
  port?: number;
  stop(): Promise<void>;
}

/** Start-up in order: database → migrations → runbooks (and their search index) → Slack transport. */
export async function boot(config: Config, transport: SlackTransport, opts: BootOptions = {}): Promise<Preflight> {
  const log = opts.log ?? createLogger(config.LOG_LEVEL);
  const db = opts.db ?? (await connectDb({ url: config.DATABASE_URL, dataDir: config.PREFLIGHT_DATA_DIR, schema: opts.schema, log }));
  const applied = await migrate(db);
  if (applied.length) log.info({ applied }, 'migrations applied');

  const library = new RunbookLibrary(config.RUNBOOKS_DIR, log);
  const runbooks = library.load();
  await indexRunbooks(db, runbooks);
  log.info({ runbooks: runbooks.length, dir: config.RUNBOOKS_DIR }, 'runbooks loaded');
  if (opts.watch !== false) {
    library.watch();
    library.on('change', () => {
      indexRunbooks(db, library.all()).catch((err) => log.warn({ err: (err as Error).message }, 'search index not updated; it will be at the next change or start'));
    });
  }

  const now = opts.now ?? (() => new Date());
  const jobs = new Scheduler({ db, log, now });
  const redraws = new Redraws(jobs, { now, log });
  const deps: Deps = { config, db, library, log, metrics: new Metrics(), now, jobs, redraws, home: [], routes: [], onStop: [] };
  const server = await createSlackApp(deps, transport, registerCapabilities);
  const port = await server.start();
  if (opts.pollMs !== 0) jobs.start(opts.pollMs ?? 1000);
  return {
    deps,
    server,
    port,
    async stop() {
      library.close();
      await server.stop();
      // Claimed jobs go back to the database for another instance (or the next start) to take.
      await jobs.stop();
      // In-flight requests are done; capabilities' own stop hooks run before the pool closes (redraws are in jobs).
      for (const hook of deps.onStop) await hook();
      if (!opts.db) await db.close();
    },
  };
}
