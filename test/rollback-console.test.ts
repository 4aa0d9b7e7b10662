import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { seedDir } from './support/rollback.ts';

// The whole /rollback flow in the local console (`npm start` without Slack tokens): buttons by number,
// modals as prompts, the run redrawn in place and its thread shown under it.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STARTUP_MS = 90000;
const temps: string[] = [];
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

test('a rollback from start to timeline in the console: form prompts, Done and Skip by number, the thread, the summary', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'preflight-data-'));
  const runbooks = seedDir();
  temps.push(dataDir, runbooks);
  const env: NodeJS.ProcessEnv = { ...process.env, PREFLIGHT_DATA_DIR: dataDir, RUNBOOKS_DIR: runbooks, USER: 'tester' };
  for (const key of Object.keys(env)) if (/^(SLACK_|DATABASE_URL$|PORT$|NODE_TEST_CONTEXT$)/.test(key)) delete env[key];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), STARTUP_MS + 120000);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const type = (line: string) => void child.stdin.write(`${line}\n`);
  const waitFor = async (text: string | RegExp, from: number, ms = 30000): Promise<number> => {
    const until = Date.now() + ms;
    for (;;) {
      const shown = stripAnsi(out);
      const m = typeof text === 'string' ? { index: shown.indexOf(text, from), length: text.length } : (() => {
        const r = new RegExp(text.source, 'g');
        r.lastIndex = from;
        const x = r.exec(shown);
        return { index: x ? x.index : -1, length: x ? x[0].length : 0 };
      })();
      if (m.index >= 0) return m.index + m.length;
      if (child.exitCode !== null) assert.fail(`console exited before showing "${text}":\n${shown}\n${err}`);
      if (Date.now() > until) assert.fail(`no "${text}" within ${ms} ms:\n${shown.slice(from)}\n${err}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  try {
    let at = await waitFor('preflight> ', 0, STARTUP_MS);
    type('/rollback');
    at = await waitFor('[1] 🚨 Start rollback', at);
    assert.ok(stripAnsi(out).includes('git checkout <previous-commit>'), 'the plan with its commands, unescaped for the terminal');
    type('1');
    at = await waitFor('┏━ Start rollback ━━', at);
    at = await waitFor('Reason (optional)> ', at);
    type('bad deploy of v2.3');
    at = await waitFor('<previous-commit> (optional)> ', at);
    type('ce44dae');
    at = await waitFor(/Rollback #1: Rollback Plan ━━/, at);
    at = await waitFor('git checkout ce44dae', at);
    at = await waitFor('↳ ▶️ @UTESTER started the rollback: _bad deploy of v2.3_', at, 15000);

    // Step by step: Done is [1] on the first pending step once the message is redrawn.
    const done = async (name: string) => {
      type('1');
      // The thread line and the redraw come in either order.
      const from = at;
      const logged = await waitFor(`↳ ✅ @UTESTER did ${name}`, from, 15000);
      const redrawn = await waitFor(new RegExp(`${name.replace(/[()]/g, '\\$&')}.{0,30} — done by @UTESTER`), from, 15000);
      at = Math.max(logged, redrawn);
    };
    await done('Stop the application');
    await done('Roll back to previous version');
    // [2] is Skip on the first pending step: its form asks why.
    type('2');
    at = await waitFor('┏━ Skip step ━━', at);
    at = await waitFor('Reason> ', at);
    type('');
    at = await waitFor('Reason is required.', at);
    type('no schema changes in v2.3');
    const from = at;
    const logged = await waitFor('↳ ⏭️ @UTESTER skipped Only if schema changes were made: _no schema changes in v2.3_', from, 15000);
    at = Math.max(logged, await waitFor(/Only if schema changes were made.{0,40} — skipped by @UTESTER/, from, 15000));
    const beforeLast = at;
    for (const name of ['If needed, restore from backup', 'Update status page', 'Send notification to users (if applicable)', 'Post-mortem within 24 hours']) await done(name);
    await waitFor('↳ 🏁 Rollback completed in', beforeLast, 15000);
    at = await waitFor('[1] 🧾 Timeline', beforeLast, 15000);
    type('1');
    at = await waitFor('| Immediate Actions | Stop the application | done | UTESTER |', at, 15000);
    type('quit');
    assert.equal(await exited, 0, err);
    assert.doesNotMatch(err, /Error/);
  } finally {
    clearTimeout(killer);
    child.kill('SIGKILL');
  }
});
