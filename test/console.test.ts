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

const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

test('the console shows the seed runbook and its rollback commands intact, then quits cleanly', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'preflight-data-'));
  const runbooks = runbooksDir({ 'production-readiness.md': '' });
  cpSync(SEED, join(runbooks, 'production-readiness.md'));
  temps.push(dataDir, runbooks);

  const env: NodeJS.ProcessEnv = { ...process.env, PREFLIGHT_DATA_DIR: dataDir, RUNBOOKS_DIR: runbooks, USER: 'tester' };
  // No Slack variables (console mode), and the console's own embedded database even in the PostgreSQL run.
  for (const key of Object.keys(env)) if (/^(SLACK_|DATABASE_URL$|PORT$|NODE_TEST_CONTEXT$)/.test(key)) delete env[key];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 60000);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));

  /** Waits until the output after `from` contains text; returns the position after it. */
  const waitFor = async (text: string, from = 0, ms = 30000): Promise<number> => {
    const until = Date.now() + ms;
    for (;;) {
      const at = stripAnsi(out).indexOf(text, from);
      if (at >= 0) return at + text.length;
      if (child.exitCode !== null) assert.fail(`console exited (${child.exitCode}) before showing "${text}":\n${stripAnsi(out)}\n${err}`);
      if (Date.now() > until) assert.fail(`no "${text}" within ${ms} ms:\n${stripAnsi(out).slice(from)}\n${err}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  try {
    let at = await waitFor('preflight> ');
    assert.match(stripAnsi(out), /Preflight console — 1 runbooks .* database: pglite/);

    child.stdin.write('/runbook production-readiness\n');
    at = await waitFor('Production Readiness Checklist', at);
    at = await waitFor('preflight> ', at);
    const shown = stripAnsi(out);
    assert.ok(shown.includes('✅ Phase 1 - COMPLETED'), 'the seed is shown repaired');

    child.stdin.write('/runbook production-readiness rollback\n');
    const start = at;
    at = await waitFor('pg_restore -h localhost -U postgres -d hamsaya /backups/latest.sql', at);
    await waitFor('preflight> ', at);
    const rollback = stripAnsi(out).slice(start);
    assert.ok(rollback.includes('Rollback Plan'));
    for (const line of ['docker-compose down api', 'git checkout <previous-commit>', 'docker-compose up -d --build api', 'pg_restore -h localhost -U postgres -d hamsaya /backups/latest.sql']) {
      assert.ok(rollback.split('\n').some((l) => l.trim() === line), `a line of its own: ${line}\n${rollback}`);
    }
    assert.ok(!rollback.includes('Security Checklist'), 'only the rollback section');

    child.stdin.write('quit\n');
    const { code, signal } = await exited;
    assert.equal(signal, null);
    assert.equal(code, 0, err);
    assert.doesNotMatch(err, /Error/);
  } finally {
    clearTimeout(killer);
    child.kill('SIGKILL');
  }
});
