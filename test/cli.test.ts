import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openDb } from '../src/db/index.ts';
import { readMigrations } from '../src/db/migrate.ts';
import { createSchema } from './support/pg.ts';

// The real `preflight` binary in a child process: what it prints and how it exits.

const BIN = fileURLToPath(new URL('../bin/preflight.js', import.meta.url));
const PG_URL = process.env.DATABASE_URL;

let cwd: string;
let dataDir: string;
let schema: Awaited<ReturnType<typeof createSchema>> | undefined;

before(async () => {
  // An empty working directory, so no .env of the developer's is read.
  cwd = mkdtempSync(join(tmpdir(), 'preflight-cli-'));
  dataDir = join(cwd, 'data');
  if (PG_URL) schema = await createSchema(PG_URL);
});

after(async () => {
  rmSync(cwd, { recursive: true, force: true });
  await schema?.drop();
});

/** DATABASE_URL for the fresh schema (search_path through the connection's options), or unset for PGlite. */
function databaseUrl(): string | undefined {
  return schema?.url;
}

/** Runs `preflight …args` and waits for it to exit. */
async function preflight(args: string[], extra: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PREFLIGHT_DATA_DIR: dataDir, DATABASE_URL: databaseUrl(), LOG_LEVEL: 'silent', ...extra };
  for (const key of Object.keys(env)) if (/^(SLACK_|NODE_TEST_CONTEXT$)/.test(key) || env[key] === undefined) delete env[key];
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  // Generous: a first PGlite start (initdb in a child, then migrations) takes a minute on a loaded 2-core machine.
  const killer = setTimeout(() => child.kill('SIGKILL'), 180000);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(killer);
  return { code, stdout, stderr };
}

/** The migrations recorded in the database the CLI used (the fresh schema, or the PGlite data dir). */
async function recorded(): Promise<string[]> {
  const db = await openDb({ url: PG_URL, schema: schema?.schema, dataDir: PG_URL ? undefined : dataDir });
  try {
    return (await db.query<{ name: string }>('select name from schema_migrations order by id')).map((r) => r.name);
  } finally {
    await db.close();
  }
}

test('`preflight migrate` on a fresh database applies every migration and says which, then exits 0', async () => {
  const names = readMigrations().map((m) => m.name);
  assert.ok(names.length > 0);
  const { code, stdout, stderr } = await preflight(['migrate']);
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim(), `applied: ${names.join(', ')}`);
  assert.equal(stderr, '');
  assert.deepEqual(await recorded(), names, 'recorded in the database the CLI was pointed at');
});

test('a second `preflight migrate` says the database is up to date and exits 0', async () => {
  const { code, stdout, stderr } = await preflight(['migrate']);
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim(), 'database is up to date');
  assert.deepEqual(await recorded(), readMigrations().map((m) => m.name));
});

test('`preflight` with no command prints usage and exits 2 (a usage error); `preflight help` exits 0', async () => {
  assert.equal((await preflight(['help'])).code, 0, 'help is a success');
  const { code, stdout, stderr } = await preflight([]);
  assert.equal(code, 2, stderr);
  assert.match(stdout, /^Usage: preflight <command>/);
  for (const command of ['lint', 'migrate']) assert.match(stdout, new RegExp(`^\\s+${command}\\b`, 'm'), `usage lists ${command}`);
});

test('an unknown command prints usage and exits 2', async () => {
  const { code, stdout } = await preflight(['frobnicate']);
  assert.equal(code, 2);
  assert.match(stdout, /^Usage: preflight <command>/);
});

test('a bad DATABASE_URL is named and exits 1', async () => {
  const { code, stdout, stderr } = await preflight(['migrate'], { DATABASE_URL: 'mysql://localhost/preflight' });
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.match(stderr, /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
});

test('`preflight jobs` lists scheduled work and `jobs run` makes a job due now', async () => {
  await preflight(['migrate']);
  const db = await openDb({ url: PG_URL, schema: schema?.schema, dataDir: PG_URL ? undefined : dataDir });
  try {
    await db.query("insert into jobs (name, key, run_at, state) values ('digest.post', '2026-12-01T09:00', '2030-01-01T00:00Z', 'pending'), ('digest.post', '2026-11-30T09:00', '2026-11-30T09:00Z', 'done')");
  } finally {
    await db.close();
  }
  const listed = await preflight(['jobs']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /2030-01-01T00:00:00\.000Z {2}pending {2}digest\.post {2}2026-12-01T09:00/, 'pending job listed');
  assert.doesNotMatch(listed.stdout, /2026-11-30T09:00/, 'done jobs are not listed');
  const ran = await preflight(['jobs', 'run', 'digest.post', '2026-11-30T09:00']);
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(ran.stdout, /is due now/);
  const again = await preflight(['jobs']);
  assert.match(again.stdout, /pending {2}digest\.post {2}2026-11-30T09:00/, 'the done job is pending again');
  const missing = await preflight(['jobs', 'run', 'nope', 'x']);
  assert.equal(missing.code, 1, 'unknown job');
  assert.match(missing.stderr, /No job nope x/);
});
