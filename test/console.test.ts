import assert from 'node:assert/strict';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openConsole, quitCleanly, STARTUP_MS, type ConsoleProcess } from './support/console.ts';
import { runbooksDir, SEED } from './support/harness.ts';

// `npm start` without Slack tokens: the real entry point opens the local console on embedded PGlite.

const temps: string[] = [];
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** The console over a runbooks folder holding the seed, on its own PGlite. */
function seedConsole(): ConsoleProcess {
  const runbooks = runbooksDir({ 'production-readiness.md': '' });
  cpSync(SEED, join(runbooks, 'production-readiness.md'));
  const cli = openConsole(runbooks);
  temps.push(cli.dataDir, runbooks);
  return cli;
}

test('the console shows the seed runbook and its rollback commands intact, then quits cleanly', async () => {
  const cli = seedConsole();
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
  const cli = seedConsole();
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
