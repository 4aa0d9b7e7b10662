import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openConsole, STARTUP_MS } from './support/console.ts';
import { seedDir } from './support/rollback.ts';

// The whole /rollback flow in the local console (`npm start` without Slack tokens): buttons by number,
// modals as prompts, the run redrawn in place and its thread shown under it.

const temps: string[] = [];
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

test('a rollback from start to timeline in the console: form prompts, Done and Skip by number, the thread, the summary', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'preflight-data-'));
  const runbooks = seedDir();
  temps.push(dataDir, runbooks);
  const cli = openConsole(runbooks, { PREFLIGHT_DATA_DIR: dataDir });
  const { type, waitFor } = cli;
  try {
    let at = await waitFor('preflight> ', 0, STARTUP_MS);
    type('/rollback');
    at = await waitFor('[1] 🚨 Start rollback', at);
    assert.ok(cli.out().includes('git checkout <previous-commit>'), 'the plan with its commands, unescaped for the terminal');
    type('1');
    at = await waitFor('┏━ Start rollback ━━', at);
    at = await waitFor('Reason (optional)> ', at);
    type('bad deploy of v2.3');
    at = await waitFor('<previous-commit> (optional)> ', at);
    type('ce44dae');
    at = await waitFor(/Rollback #1: Rollback Plan ━━/, at);
    at = await waitFor('git checkout ce44dae', at);
    at = await waitFor('↳ ▶️ @tester started the rollback: _bad deploy of v2.3_', at, 15000);

    // Step by step: Done is [1] on the first pending step once the message is redrawn.
    const done = async (name: string) => {
      type('1');
      // The thread line and the redraw come in either order.
      const from = at;
      const logged = await waitFor(`↳ ✅ @tester did ${name}`, from, 15000);
      const redrawn = await waitFor(new RegExp(`${name.replace(/[()]/g, '\\$&')}.{0,30} — done by @tester`), from, 15000);
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
    const logged = await waitFor('↳ ⏭️ @tester skipped Only if schema changes were made: _no schema changes in v2.3_', from, 15000);
    at = Math.max(logged, await waitFor(/Only if schema changes were made.{0,40} — skipped by @tester/, from, 15000));
    const beforeLast = at;
    for (const name of ['If needed, restore from backup', 'Update status page', 'Send notification to users (if applicable)', 'Post-mortem within 24 hours']) await done(name);
    await waitFor('↳ 🏁 Rollback completed in', beforeLast, 15000);
    at = await waitFor('[1] 🧾 Timeline', beforeLast, 15000);
    type('1');
    at = await waitFor('| Immediate Actions | Stop the application | done | tester (UTESTER) |', at, 15000);
    type('quit');
    assert.equal((await cli.exited).code, 0, cli.err());
    assert.doesNotMatch(cli.err(), /Error/);
  } finally {
    cli.kill();
  }
});
