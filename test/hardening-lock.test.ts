import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LOCK_FILE } from '../src/db/lock.ts';
import { spawnDriven, type DrivenProcess } from './support/console.ts';
import { runbooksDir } from './support/harness.ts';

// One process per embedded database (issue 6 point 1): real processes on one PREFLIGHT_DATA_DIR.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/preflight.js');
// A first start on a new data directory (initdb in a child, migrations) is slow on a loaded 2-core machine.
const STARTUP_MS = 180000;
/**
 * The refused process stops before it loads the database (the lock is checked first); it is killed, and the test
 * fails, if it still runs after this. Generous, because tests do not judge timings: on a loaded 2-core machine
 * tsx alone can take seconds to load src/main.ts. The time it took is printed as a diagnostic.
 */
const REFUSAL_MS = 30000;
const OPS = ['# Ops', '', '## Tasks', '', '- [ ] Backups verified', '- [ ] DNS ready', ''].join('\n');

const dataDir = mkdtempSync(join(tmpdir(), 'preflight-lock-data-'));
const runbooks = runbooksDir({ 'ops.md': OPS });
after(() => {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(runbooks, { recursive: true, force: true });
});

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, PREFLIGHT_DATA_DIR: dataDir, RUNBOOKS_DIR: runbooks, USER: 'tester', LOG_LEVEL: 'silent' };
  // Console mode on the embedded database, even in the PostgreSQL run.
  for (const key of Object.keys(e)) if (/^(SLACK_|DATABASE_URL$|PORT$|NODE_TEST_CONTEXT$)/.test(key)) delete e[key];
  return e;
}

function start(args: string[], deadline = STARTUP_MS + 60000): DrivenProcess {
  return spawnDriven(args, env(), deadline);
}

const startConsole = () => start(['--import', 'tsx', 'src/main.ts']);

/** A snapshot of every file in the data directory (size and mtime), to show a refused process wrote nothing. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const s = statSync(path);
        files.set(path, `${s.size}:${s.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return files;
}

/** Starts a second process on the held directory and checks it is refused at once with the one clear line. */
async function refused(args: string[], holder: number, diagnostic: (text: string) => void): Promise<void> {
  const before = snapshot(dataDir);
  const t0 = Date.now();
  const second = start(args, REFUSAL_MS);
  const { code, signal } = await second.exited;
  diagnostic(`${args.at(-1)} ${args.length > 3 ? args.slice(-2).join(' ') : ''} refused after ${Date.now() - t0} ms`);
  assert.equal(signal, null, `${args.join(' ')} was still running after ${REFUSAL_MS} ms:\n${second.out()}\n${second.err()}`);
  assert.equal(code, 1, `${args.join(' ')} exits 1:\n${second.out()}\n${second.err()}`);
  const lines = second.err().trim().split('\n');
  assert.equal(lines.length, 1, `one line:\n${second.err()}`);
  assert.match(lines[0]!, new RegExp(`in use by process ${holder}\\b.*DATABASE_URL \\(PostgreSQL\\)`), 'names the holder and the way to run several');
  assert.equal(second.out(), '', 'prints nothing else');
  assert.deepEqual(snapshot(dataDir), before, `${args.join(' ')} wrote nothing in the data directory`);
}

test('a second process on a held PGlite data directory is refused at once; the first keeps its data; a SIGKILLed holder does not leave it stuck', async (t) => {
  const first = startConsole();
  try {
    let at = await first.waitFor('preflight> ', 0, STARTUP_MS);
    assert.equal(readFileSync(join(dataDir, LOCK_FILE), 'utf8').trim(), String(first.pid), 'the first process holds the lock');
    first.type('/checklist ops');
    at = await first.waitFor('[ 1] ☐ Backups verified', at);
    first.type('1');
    // The redraw comes after the acknowledgement, so it may land after the prompt: wait for what is drawn.
    at = await first.waitFor('[ 1] ☑ Backups verified', at);

    await refused(['--import', 'tsx', 'src/main.ts'], first.pid, (d) => t.diagnostic(d));
    await refused([BIN, 'export', 'ops'], first.pid, (d) => t.diagnostic(d));
    await refused([BIN, 'migrate'], first.pid, (d) => t.diagnostic(d));

    // lint still lints; it only skips the recorded-state check, and says so.
    const lint = start([BIN, 'lint', runbooks], STARTUP_MS);
    const linted = await lint.exited;
    assert.equal(linted.code, 0, lint.out() + lint.err());
    assert.match(lint.out(), new RegExp(`^note: recorded checklist state not checked: process ${first.pid} holds the embedded database`, 'm'));
    assert.match(lint.out(), /^1 runbook, 0 errors, 0 warnings$/m);

    // The first still works after the refusals: a second tick lands.
    first.type('2');
    at = await first.waitFor('[ 2] ☑ DNS ready', at);
    first.type('quit');
    const quit = await first.exited;
    assert.equal(quit.code, 0, first.err());
    assert.ok(!existsSync(join(dataDir, LOCK_FILE)), 'a clean quit releases the lock');
  } finally {
    first.kill();
  }

  // The first's ticks are all there for the next process.
  const exported = start([BIN, 'export', 'ops'], STARTUP_MS);
  const { code } = await exported.exited;
  assert.equal(code, 0, exported.err());
  assert.match(exported.out(), /Backups verified,[^\n]*,yes,UTESTER,/, `first tick kept:\n${exported.out()}`);
  assert.match(exported.out(), /DNS ready,[^\n]*,yes,UTESTER,/, `second tick kept:\n${exported.out()}`);

  // A holder killed with SIGKILL leaves its pid file behind; the next start sees it is dead and takes over.
  const crashed = startConsole();
  let crashedPid: number;
  try {
    await crashed.waitFor('preflight> ', 0, STARTUP_MS);
    crashedPid = crashed.pid;
  } finally {
    crashed.kill('SIGKILL');
  }
  await crashed.exited;
  assert.equal(readFileSync(join(dataDir, LOCK_FILE), 'utf8').trim(), String(crashedPid), 'the killed process left its lock');
  const next = startConsole();
  try {
    let at = await next.waitFor('preflight> ', 0, STARTUP_MS);
    assert.equal(readFileSync(join(dataDir, LOCK_FILE), 'utf8').trim(), String(next.pid), 'taken over');
    next.type('/checklist ops');
    at = await next.waitFor('[ 2] ☑ DNS ready', at);
    next.type('quit');
    assert.equal((await next.exited).code, 0, next.err());
  } finally {
    next.kill();
  }
});
