import { existsSync, statSync, writeFileSync } from 'node:fs';
import { webApi } from '@slack/bolt';
import { parseArgs } from 'node:util';
import { exportCsv, exportMarkdown } from './checklist/export.ts';
import { ensureDefaultInstance, getInstance, loadState, recordedKeys, syncInstance } from './checklist/store.ts';
import { loadConfig, loadDotEnv, type Config } from './config.ts';
import { connectDb, type Db } from './db/index.ts';
import { DataDirLockedError } from './db/lock.ts';
import { migrate } from './db/migrate.ts';
import { listJobs, makeDue } from './jobs/store.ts';
import { createLogger } from './log.ts';
import { RunbookLibrary } from './runbooks/library.ts';
import { lintOncall } from './oncall/config.ts';
import { formatLint, lintDir, warnVanishedItems } from './runbooks/lint.ts';
import { gateDiagnostics } from './readiness/domain.ts';
import { exportRollback } from './rollback/export.ts';
import { namesVia } from './slack/names.ts';

const FORMATS = ['csv', 'md'];

const USAGE = `Usage: preflight <command>
  lint [DIR] [--fix]                      check runbooks (default RUNBOOKS_DIR); --fix repairs mojibake in place
  export <checklist> [--format csv|md] [--out FILE]
                                          a checklist's items and state (default csv, to stdout)
  export rollback <run> --format md [--out FILE]
                                          a rollback run's timeline for the post-mortem
  migrate                                 apply database migrations and exit
  jobs [list [NAME]]                      scheduled work: pending, running and failed jobs (newest first)
  jobs run <name> <key>                   make a job due now; a running Preflight takes it within a second
  digest [--post] [--channel C…]          print the readiness digest (dry run); --post posts it to DIGEST_CHANNEL`;

/** Opens the configured database and brings its schema up to date. */
async function openMigrated(config: Config): Promise<Db> {
  const db = await connectDb({ url: config.DATABASE_URL, dataDir: config.PREFLIGHT_DATA_DIR });
  await migrate(db);
  return db;
}

/** Slack names for exports when a bot token is configured; ids alone otherwise (or when Slack cannot be reached). */
async function slackNames(config: Config, ids: string[]): Promise<Map<string, string>> {
  if (!config.SLACK_BOT_TOKEN) return new Map();
  const client = new webApi.WebClient(config.SLACK_BOT_TOKEN, { slackApiUrl: config.SLACK_API_URL, retryConfig: { retries: 1 } });
  return namesVia(client, ids, 10_000);
}

/** Runs one CLI command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  loadDotEnv();
  switch (command) {
    case 'lint': {
      const { values, positionals } = parseArgs({ args: rest, options: { fix: { type: 'boolean' } }, allowPositionals: true });
      const dir = positionals[0] ?? loadConfig().RUNBOOKS_DIR;
      if (!existsSync(dir) || !statSync(dir).isDirectory()) {
        console.error(`preflight lint: no runbooks folder at ${dir} (give one: preflight lint DIR, or set RUNBOOKS_DIR)`);
        return 2;
      }
      const results = lintDir(dir, { fix: values.fix, checks: [gateDiagnostics] });
      // Vanished items are checked only against a database that exists; lint never creates one.
      const config = loadConfig();
      if (config.DATABASE_URL || existsSync(config.PREFLIGHT_DATA_DIR)) {
        try {
          const db = await openMigrated(config);
          try {
            warnVanishedItems(results, await recordedKeys(db));
          } finally {
            await db.close();
          }
        } catch (err) {
          // A running Preflight holds the embedded database: lint still checks the files, just not the state.
          if (err instanceof DataDirLockedError) console.log(`note: recorded checklist state not checked: process ${err.pid} holds the embedded database (${err.dataDir})`);
          else console.log(`note: recorded checklist state not checked (${(err as Error).message})`);
        }
      }
      for (const line of formatLint(results)) console.log(line);
      const oncall = lintOncall(dir);
      for (const d of oncall) console.log(`${d.file}:${d.line}: ${d.severity}: ${d.message}`);
      const errors = results.reduce((n, r) => n + r.diagnostics.filter((d) => d.severity === 'error').length, 0) + oncall.filter((d) => d.severity === 'error').length;
      const warnings = results.reduce((n, r) => n + r.diagnostics.filter((d) => d.severity === 'warning').length, 0);
      const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
      console.log(`${count(results.length, 'runbook')}, ${count(errors, 'error')}, ${count(warnings, 'warning')}`);
      return errors ? 1 : 0;
    }
    case 'migrate': {
      const config = loadConfig();
      const db = await connectDb({ url: config.DATABASE_URL, dataDir: config.PREFLIGHT_DATA_DIR });
      try {
        const applied = await migrate(db);
        console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'jobs': {
      const [verb = 'list', name, key] = rest;
      const db = await openMigrated(loadConfig());
      try {
        if (verb === 'run') {
          if (!name || !key) {
            console.error('Usage: preflight jobs run <name> <key>   (see `preflight jobs` for names and keys)');
            return 2;
          }
          if (!(await makeDue(db, name, key, new Date()))) {
            console.error(`No job ${name} ${key} that can run now (unknown, or running at this moment).`);
            return 1;
          }
          console.log(`${name} ${key} is due now; a running Preflight takes it within a second.`);
          return 0;
        }
        if (verb !== 'list') {
          console.error('Usage: preflight jobs [list [NAME]] | preflight jobs run <name> <key>');
          return 2;
        }
        const jobs = await listJobs(db, { name, states: ['pending', 'running', 'failed'] });
        if (!jobs.length) console.log('No pending, running or failed jobs.');
        for (const j of jobs) console.log(`${j.runAt.toISOString()}  ${j.state.padEnd(7)}  ${j.name}  ${j.key}${j.attempts ? `  (attempt ${j.attempts}${j.lastError ? `: ${j.lastError}` : ''})` : ''}`);
        return 0;
      } finally {
        await db.close();
      }
    }
    case 'export': {
      const { values, positionals } = parseArgs({ args: rest, options: { format: { type: 'string', default: 'csv' }, out: { type: 'string' } }, allowPositionals: true });
      const id = positionals[0];
      if (id === 'rollback' && positionals.length === 2) {
        if (values.format !== 'md') {
          console.error('Usage: preflight export rollback <run> --format md [--out FILE]');
          return 2;
        }
        const config = loadConfig();
        const db = await openMigrated(config);
        try {
          const text = await exportRollback(db, positionals[1]!, new Date(), (ids) => slackNames(config, ids));
          if (text === undefined) {
            console.error(`No rollback run "${positionals[1]}".`);
            return 1;
          }
          if (values.out) writeFileSync(values.out, text);
          else process.stdout.write(text);
          return 0;
        } finally {
          await db.close();
        }
      }
      if (!FORMATS.includes(values.format ?? '')) {
        console.error(`preflight export: unknown format "${values.format}"; formats: ${FORMATS.join(', ')}`);
        return 2;
      }
      if (!id) {
        console.error('Usage: preflight export <checklist> [--format csv|md] [--out FILE]');
        return 2;
      }
      const config = loadConfig();
      const library = new RunbookLibrary(config.RUNBOOKS_DIR);
      library.load();
      const db = await openMigrated(config);
      try {
        let instance = await getInstance(db, id);
        const fallback = instance ? undefined : library.resolve(id);
        if (!instance && fallback && 'runbook' in fallback && fallback.runbook.tasks.length) {
          await ensureDefaultInstance(db, fallback.runbook, new Date());
          instance = await getInstance(db, fallback.runbook.id);
        }
        const runbook = instance && library.get(instance.runbookId);
        if (!instance || !runbook) {
          console.error(`No checklist "${id}".`);
          return 1;
        }
        await syncInstance(db, instance.id, runbook, new Date());
        const state = await loadState(db, instance.id);
        const people = [...state.values()].flatMap((s) => [s.checkedBy, s.owner]).filter((u): u is string => !!u);
        const names = await slackNames(config, people);
        const text = values.format === 'md' ? exportMarkdown(instance, runbook, state, names) : exportCsv(runbook, state, names);
        if (values.out) writeFileSync(values.out, text);
        else process.stdout.write(text);
        return 0;
      } finally {
        await db.close();
      }
    }
    case 'digest': {
      const { values } = parseArgs({ args: rest, options: { post: { type: 'boolean' }, channel: { type: 'string' } } });
      const config = loadConfig();
      const library = new RunbookLibrary(config.RUNBOOKS_DIR);
      library.load();
      // Loaded here only: the digest brings in Bolt's Web API client, which no other command needs.
      const { digestCommand } = await import('./readiness/digest.ts');
      const db = await openMigrated(config);
      try {
        return await digestCommand({ db, library, config, now: () => new Date(), log: createLogger('error') }, values);
      } finally {
        await db.close();
      }
    }
    default:
      // Asking for help is a success; no command (as with git or npm) or an unknown one is a usage error.
      console.log(USAGE);
      return command === 'help' || command === '--help' ? 0 : 2;
  }
}

try {
  process.exitCode = await run(process.argv.slice(2));
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
}
