import type { Config } from './config.ts';
import { connectDb, type Db } from './db/index.ts';
import { migrate } from './db/migrate.ts';
import type { Deps } from './deps.ts';
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

  const deps: Deps = { config, db, library, log, metrics: new Metrics(), now: opts.now ?? (() => new Date()), onStop: [] };
  const server = await createSlackApp(deps, transport);
  const port = await server.start();
  return {
    deps,
    server,
    port,
    async stop() {
      library.close();
      await server.stop();
      // In-flight requests are done; let pending work (checklist message updates) finish before the pool closes.
      for (const hook of deps.onStop) await hook();
      if (!opts.db) await db.close();
    },
  };
}
