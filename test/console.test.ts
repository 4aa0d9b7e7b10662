import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runbooksDir, SEED } from './support/harness.ts';

// `npm start` without Slack tokens: the real entry point opens the local console on embedded PGlite.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const temps: string[] = [];
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** Starting the console (tsx, PGlite, migrations) is slow on a busy machine; later steps are quick. */
const STARTUP_MS = 90000;

const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

interface ConsoleProcess {
  /** Everything printed so far, without colours. */
  out(): string;
  err(): string;
  type(line: string): void;
  /** Waits until the output after `from` contains text; returns the position after it. */
  waitFor(text: string, from?: number, ms?: number): Promise<number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

/** `npm start`'s entry point in console mode over a runbooks folder holding the seed, on its own PGlite. */
function openConsole(): ConsoleProcess {
  const dataDir = mkdtempSync(join(tmpdir(), 'preflight-data-'));
  const runbooks = runbooksDir({ 'production-readiness.md': '' });
  cpSync(SEED, join(runbooks, 'production-readiness.md'));
  temps.push(dataDir, runbooks);

  const env: NodeJS.ProcessEnv = { ...process.env, PREFLIGHT_DATA_DIR: dataDir, RUNBOOKS_DIR: runbooks, USER: 'tester' };
  // No Slack variables (console mode), and the console's own embedded database even in the PostgreSQL run.
  for (const key of Object.keys(env)) if (/^(SLACK_|DATABASE_URL$|PORT$|NODE_TEST_CONTEXT$)/.test(key)) delete env[key];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), STARTUP_MS + 60000);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));

  return {
    out: () => stripAnsi(out),
    err: () => err,
    type: (line) => void child.stdin.write(`${line}\n`),
    async waitFor(text, from = 0, ms = 30000) {
      const until = Date.now() + ms;
      for (;;) {
        const at = stripAnsi(out).indexOf(text, from);
        if (at >= 0) return at + text.length;
        if (child.exitCode !== null) assert.fail(`console exited (${child.exitCode}) before showing "${text}":\n${stripAnsi(out)}\n${err}`);
        if (Date.now() > until) assert.fail(`no "${text}" within ${ms} ms:\n${stripAnsi(out).slice(from)}\n${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    exited,
    kill() {
      clearTimeout(killer);
      child.kill('SIGKILL');
    },
  };
}

/** Types quit and checks the console exits by itself, with code 0 and no error printed. */
async function quitCleanly(cli: ConsoleProcess): Promise<void> {
  cli.type('quit');
  const { code, signal } = await cli.exited;
  assert.equal(signal, null);
  assert.equal(code, 0, cli.err());
  assert.doesNotMatch(cli.err(), /Error/);
}

test('the console shows the seed runbook and its rollback commands intact, then quits cleanly', async () => {
  const cli = openConsole();
  try {
    let at = await cli.waitFor('preflight> ', 0, STARTUP_MS);
    assert.match(cli.out(), /Preflight console — 1 runbook from .* database: pglite/);

    cli.type('/runbook production-readiness');
    at = await cli.waitFor('Production Readiness Checklist', at);
    at = await cli.waitFor('preflight> ', at);
    const shown = cli.out();
    assert.ok(shown.includes('✅ Phase 1 - COMPLETED'), 'the seed is shown repaired');

    cli.type('/runbook production-readiness rollback');
    const start = at;
    at = await cli.waitFor('pg_restore -h localhost -U postgres -d hamsaya /backups/latest.sql', at);
    await cli.waitFor('preflight> ', at);
    const rollback = cli.out().slice(start);
    assert.ok(rollback.includes('Rollback Plan'));
    for (const line of ['docker-compose down api', 'git checkout <previous-commit>', 'docker-compose up -d --build api', 'pg_restore -h localhost -U postgres -d hamsaya /backups/latest.sql']) {
      assert.ok(rollback.split('\n').some((l) => l.trim() === line), `a line of its own: ${line}\n${rollback}`);
    }
    assert.ok(!rollback.includes('Security Checklist'), 'only the rollback section');

    await quitCleanly(cli);
  } finally {
    cli.kill();
  }
});

test('two users tick a checklist by number in the console; the redraw and the history show both', async () => {
  const cli = openConsole();
  const CHECKLIST = '━━ ☑ Production Readiness Checklist ━━';
  // A tick is acknowledged first and the channel message redrawn after, so a redraw may follow the prompt:
  // the steps below wait for what is drawn, not for the prompt.
  /** The whole drawing of the checklist message that contains position `at`, once it has been printed. */
  const drawingAt = async (at: number) => {
    const end = await cli.waitFor('\n\n', at);
    return cli.out().slice(cli.out().lastIndexOf(CHECKLIST, at), end);
  };
  try {
    let at = await cli.waitFor('preflight> ', 0, STARTUP_MS);

    cli.type('/checklist production-readiness infrastructure');
    at = await cli.waitFor('[ 1] ☐ Database backups tested and verified', at);
    const posted = await drawingAt(at);
    assert.match(posted, /Infrastructure\s+0\/7/);
    assert.match(posted, /\[ 2\] ☐ Redis persistence configured/);

    // You are @tester (from USER): tick item 1 on the posted checklist.
    cli.type('1');
    at = await cli.waitFor('[ 1] ☑ Database backups tested and verified', at);

    cli.type('/as bob');
    at = await cli.waitFor('You are now @bob (UBOB).', at);
    cli.type('2');
    at = await cli.waitFor('[ 2] ☑ Redis persistence configured', at);
    const drawn = await drawingAt(at);
    assert.match(drawn, /\[ 1\] ☑ Database backups tested and verified/);
    assert.match(drawn, /\[ 3\] ☐ MinIO backups scheduled/, 'nothing else ticked');
    assert.match(drawn, /Infrastructure\s+2\/7/);
    assert.match(drawn, /Database backups tested and verified\S* — ☑ @tester\b/, `tester's tick is attributed:\n${drawn}`);
    assert.match(drawn, /Redis persistence configured\S* — ☑ @bob\b/, `bob's tick is attributed:\n${drawn}`);

    cli.type('/checklist history production-readiness');
    const start = at;
    at = await cli.waitFor('History of Production Readiness Checklist', at);
    // The history is the command's own answer, drawn before the prompt returns.
    at = await cli.waitFor('preflight> ', at);
    const history = cli.out().slice(start, at).split('\n');
    const bobLine = history.findIndex((l) => /@bob ☑ ticked _?Redis persistence configured/.test(l));
    const testerLine = history.findIndex((l) => /@tester ☑ ticked _?Database backups tested and verified/.test(l));
    assert.ok(bobLine >= 0 && testerLine >= 0, `both ticks in the history:\n${history.join('\n')}`);
    assert.ok(bobLine < testerLine, 'newest first');

    await quitCleanly(cli);
  } finally {
    cli.kill();
  }
});
