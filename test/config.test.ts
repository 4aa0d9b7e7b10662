import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../src/config.ts';
import { FakeSlack } from '../src/console/fakeSlack.ts';
import { runbooksDir, TEST_PG_URL } from './support/harness.ts';
import { createSchema, withClient } from './support/pg.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HTTP_ENV = { SLACK_BOT_TOKEN: 'xoxb-x', SLACK_SIGNING_SECRET: 'secret12345' };

const temps: string[] = [];
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
    return err.problems;
  }
  assert.fail('loadConfig accepted the environment');
}

test('PORT=abc and DATABASE_URL=nonsense are both reported at once, each by name', () => {
  const problems = problemsOf({ PORT: 'abc', DATABASE_URL: 'nonsense' });
  assert.equal(problems.length, 2, problems.join('; '));
  assert.ok(problems.some((p) => p.startsWith('PORT:')), problems.join('; '));
  assert.ok(problems.some((p) => p.startsWith('DATABASE_URL:')), problems.join('; '));
  try {
    loadConfig({ PORT: 'abc', DATABASE_URL: 'nonsense' });
  } catch (err) {
    assert.match((err as Error).message, /PORT[\s\S]*DATABASE_URL/);
  }
});

test('empty strings count as unset: PORT= gives the default 3000', () => {
  const config = loadConfig({ PORT: '', DATABASE_URL: '', RUNBOOKS_DIR: '  ', SLACK_BOT_TOKEN: '', SLACK_SIGNING_SECRET: '' });
  assert.equal(config.PORT, 3000);
  assert.equal(config.DATABASE_URL, undefined);
  assert.equal(config.RUNBOOKS_DIR, 'runbooks');
  assert.equal(config.mode, 'console');
});

test('PORT=0 is allowed (any free port)', () => {
  assert.equal(loadConfig({ PORT: '0' }).PORT, 0);
});

test('SLACK_BOT_TOKEN without SLACK_SIGNING_SECRET names the missing secret', () => {
  const problems = problemsOf({ SLACK_BOT_TOKEN: 'xoxb-1' });
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^SLACK_SIGNING_SECRET:/);
});

test('no Slack tokens means the local console', () => {
  assert.equal(loadConfig({}).mode, 'console');
});

test('bot token and signing secret mean HTTP mode', () => {
  assert.equal(loadConfig(HTTP_ENV).mode, 'http');
});

test('an app token means Socket Mode', () => {
  assert.equal(loadConfig({ SLACK_APP_TOKEN: 'xapp-1-abc', SLACK_BOT_TOKEN: 'xoxb-1' }).mode, 'socket');
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The environment of this process without anything Preflight reads, so only what a test sets counts. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(SLACK_|DATABASE_URL$|PORT$|PREFLIGHT_|RUNBOOKS_DIR$|DIGEST_|ADMIN_USERS$|OPENAI_|LOG_LEVEL$|NODE_TEST_CONTEXT$)/.test(key)) delete env[key];
  }
  return { ...env, ...extra };
}

/** Starts the real entry point; `onStdout` sees output as it arrives. */
function startMain(env: Record<string, string>, onStdout?: (all: string) => void) {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    onStdout?.(stdout);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started })));
  return { child, done };
}

async function runMain(env: Record<string, string>, timeoutMs = 60000): Promise<Run> {
  const { child, done } = startMain(env);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const run = await done;
  clearTimeout(timer);
  return run;
}

test('the entry point with PORT=abc exits 1 with one clear message naming PORT', async () => {
  const run = await runMain({ ...HTTP_ENV, PORT: 'abc' });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /PORT/);
  assert.doesNotMatch(run.stderr, /DATABASE_URL|SLACK_/);
  // A message, not a crash: no stack trace.
  assert.doesNotMatch(run.stderr, /\n\s+at /);
  assert.ok(run.stderr.trim().split('\n').length <= 3, run.stderr);
});

test('the entry point with an unreachable database gives up by itself and exits non-zero, naming DATABASE_URL', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'preflight-data-'));
  temps.push(dataDir);
  const run = await runMain({ ...HTTP_ENV, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nope', RUNBOOKS_DIR: runbooksDir(), PREFLIGHT_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  assert.notEqual(run.code, 0, run.stderr);
  // It does not wait for a database that is not there: it exits by itself, long before the test's 60 s kill.
  assert.equal(run.signal, null, `exited by itself, not killed by the test (after ${run.ms} ms)`);
  assert.match(run.stderr, /DATABASE_URL/);
  assert.match(run.stderr, /cannot reach the database/i);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});

/** Starts the entry point in HTTP mode on PORT=0, waits for /healthz 200, sends SIGTERM and expects exit 0. */
async function startServeAndStop(env: Record<string, string>): Promise<void> {
  const slack = new FakeSlack();
  await slack.start();
  const runbooks = runbooksDir({ 'hello.md': '# Hello\n\n## Step\n\n```bash\necho hi\n```\n' });
  temps.push(runbooks);
  let resolvePort: (port: number) => void = () => undefined;
  const portSeen = new Promise<number>((resolve) => (resolvePort = resolve));
  const { child, done } = startMain({ ...HTTP_ENV, PORT: '0', SLACK_API_URL: slack.apiUrl, RUNBOOKS_DIR: runbooks, LOG_LEVEL: 'info', ...env }, (out) => {
    const m = /"port":(\d+)[^\n]*Preflight is serving Slack|Preflight is serving Slack[^\n]*"port":(\d+)/.exec(out);
    if (m) resolvePort(Number(m[1] ?? m[2]));
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 120000);
  try {
    const port = await Promise.race([portSeen, done.then((r) => Promise.reject(new Error(`exited early (${r.code}): ${r.stderr}${r.stdout}`)))]);
    let health = 0;
    for (const until = Date.now() + 5000; Date.now() < until; ) {
      health = (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
      if (health === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(health, 200);
    assert.ok(slack.calls.some((c) => c.method === 'auth.test'), 'Bolt checked its token against SLACK_API_URL');
    child.kill('SIGTERM');
    const run = await done;
    assert.equal(run.signal, null, 'exited by itself after SIGTERM');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /shutting down/);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'no longer listening');
  } finally {
    clearTimeout(killer);
    child.kill('SIGKILL');
    await slack.stop();
  }
}

test('the entry point serves HTTP on PostgreSQL, is healthy, and exits 0 on SIGTERM', async () => {
  const { schema, url, drop } = await createSchema(TEST_PG_URL);
  try {
    await startServeAndStop({ DATABASE_URL: url });
    const tables = await withClient(TEST_PG_URL, (c) => c.query('select 1 from information_schema.tables where table_schema = $1 and table_name = $2', [schema, 'schema_migrations']));
    assert.equal(tables.rowCount, 1, 'migrated in its own schema');
  } finally {
    await drop();
  }
});

test('the entry point serves HTTP on embedded PGlite, is healthy, and exits 0 on SIGTERM', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'preflight-data-'));
  temps.push(dataDir);
  await startServeAndStop({ PREFLIGHT_DATA_DIR: dataDir });
});
