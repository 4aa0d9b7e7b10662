import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runbooksDir, SEED } from './support/harness.ts';

// `/runbook ask …` in the local console (npm start without Slack tokens), on its own PGlite and without a model.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

test('the console answers /runbook ask with the closest sections, the Rollback Plan first with its commands, and opens it by number', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'preflight-data-'));
  const runbooks = runbooksDir({ 'production-readiness.md': '' });
  cpSync(SEED, join(runbooks, 'production-readiness.md'));
  const env: NodeJS.ProcessEnv = { ...process.env, PREFLIGHT_DATA_DIR: dataDir, RUNBOOKS_DIR: runbooks, USER: 'tester' };
  for (const key of Object.keys(env)) if (/^(SLACK_|OPENAI_|DATABASE_URL$|PORT$|NODE_TEST_CONTEXT$)/.test(key)) delete env[key];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 240000);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const waitFor = async (text: string, from = 0, ms = 30000) => {
    const until = Date.now() + ms;
    for (;;) {
      const at = stripAnsi(out).indexOf(text, from);
      if (at >= 0) return at + text.length;
      if (child.exitCode !== null) assert.fail(`console exited before showing "${text}":\n${stripAnsi(out)}\n${err}`);
      if (Date.now() > until) assert.fail(`no "${text}" within ${ms} ms:\n${stripAnsi(out).slice(from)}\n${err}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  try {
    // Starting tsx, PGlite and the migrations is slow on a busy machine; the steps after are quick.
    let at = await waitFor('preflight> ', 0, 180000);
    child.stdin.write('/runbook ask how do I roll back the database\n');
    const start = at;
    at = await waitFor('No model configured: the closest sections are…', at);
    at = await waitFor('preflight> ', at);
    const answer = stripAnsi(out).slice(start, at);
    assert.match(answer, /1\. Production Readiness Checklist › 🆘 Rollback Plan/, answer);
    assert.ok(answer.split('\n').some((l) => l.trim() === 'docker-compose down api'), `the command on a line of its own:\n${answer}`);
    // The first Open button is [1] on screen.
    const button = /\[ ?(\d+)\] Open/.exec(answer);
    assert.ok(button, `an Open button:\n${answer}`);
    child.stdin.write(`${button[1]}\n`);
    at = await waitFor('pg_restore -h localhost -U postgres -d hamsaya /backups/latest.sql', at);
    child.stdin.write('quit\n');
    assert.equal(await exited, 0, err);
  } finally {
    clearTimeout(killer);
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(runbooks, { recursive: true, force: true });
  }
});
