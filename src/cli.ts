import { parseArgs } from 'node:util';
import { loadConfig, loadDotEnv } from './config.ts';
import { connectDb } from './db/index.ts';
import { migrate } from './db/migrate.ts';
import { formatLint, lintDir } from './runbooks/lint.ts';

const USAGE = `Usage: preflight <command>
  lint [DIR] [--fix]   check runbooks (default RUNBOOKS_DIR); --fix repairs mojibake in place
  migrate              apply database migrations and exit`;

/** Runs one CLI command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  loadDotEnv();
  switch (command) {
    case 'lint': {
      const { values, positionals } = parseArgs({ args: rest, options: { fix: { type: 'boolean' } }, allowPositionals: true });
      const dir = positionals[0] ?? loadConfig().RUNBOOKS_DIR;
      const results = lintDir(dir, { fix: values.fix });
      for (const line of formatLint(results)) console.log(line);
      const errors = results.reduce((n, r) => n + r.diagnostics.filter((d) => d.severity === 'error').length, 0);
      const warnings = results.reduce((n, r) => n + r.diagnostics.filter((d) => d.severity === 'warning').length, 0);
      console.log(`${results.length} runbooks, ${errors} errors, ${warnings} warnings`);
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
    default:
      console.log(USAGE);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

try {
  process.exitCode = await run(process.argv.slice(2));
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
}
