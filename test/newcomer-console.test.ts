import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { openConsole, quitCleanly, STARTUP_MS } from './support/console.ts';
import { runbooksDir, SEED } from './support/harness.ts';

// Issue 11 points 1, 7 and 8 in the local console (`npm start` without Slack tokens): what a new user sees.

const temps: string[] = [];
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});


test('the console: one runbook, logs in a file, escaped help, names not ids, @here as typed, redraws before the prompt', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'preflight-data-'));
  const runbooks = runbooksDir({ 'production-readiness.md': '' });
  cpSync(SEED, join(runbooks, 'production-readiness.md'));
  temps.push(dataDir, runbooks);
  // LOG_LEVEL info: start-up logs lines (runbooks loaded, mojibake repaired), which must not reach the screen.
  const cli = openConsole(runbooks, { PREFLIGHT_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
  const { type, waitFor } = cli;
  /** Types a line and returns what was printed until the prompt came back. */
  const answer = async (line: string, at: number): Promise<{ text: string; at: number }> => {
    type(line);
    const end = await waitFor('preflight> ', at);
    return { text: cli.out().slice(at, end), at: end };
  };
  try {
    let at = await waitFor('preflight> ', 0, STARTUP_MS);
    const banner = cli.out();
    assert.match(banner, /Preflight console — 1 runbook from /, 'one runbook, not "1 runbooks"');
    const logFile = join(dataDir, 'preflight.log');
    assert.ok(banner.includes(`Logs go to ${logFile}.`), `says once where logs go:\n${banner}`);
    assert.ok(!/^\{"level"/m.test(cli.out()), `no pino lines among the answers:\n${banner}`);
    assert.ok(existsSync(logFile), 'the log file is written');

    let r = await answer('/runbook', at);
    at = r.at;
    assert.ok(r.text.includes(`📁 ${basename(runbooks)}`), `the folder heading is RUNBOOKS_DIR's name:\n${r.text}`);
    assert.match(r.text, /1 runbook\b(?!s)/, 'singular in the list');

    r = await answer('/runbook help', at);
    at = r.at;
    assert.ok(r.text.includes('/runbook <id> <section>'), `the placeholders show:\n${r.text}`);
    r = await answer('/checklist help', at);
    at = r.at;
    assert.ok(r.text.includes('/checklist new <runbook> <name>'), `the placeholders show:\n${r.text}`);
    r = await answer('help', at);
    at = r.at;
    assert.ok(r.text.includes('<n> <choice>'), 'the console help shows its own placeholders');

    // Items ticked in the file: each listed once, as a ticked box that says where it was ticked.
    r = await answer('/checklist production-readiness', at);
    at = r.at;
    const ticked = (r.text.match(/☑ All changes committed[^\n]*/g) ?? []).length;
    assert.equal(ticked, 1, `a file-ticked item is listed once:\n${r.text.slice(0, 1500)}`);
    assert.ok(!r.text.includes('☑ ticked in the runbook'), 'no second listing in the small print');

    r = await answer('/checklist production-readiness infrastructure', at);
    at = r.at;
    assert.match(r.text, /\[ 1\] ☐ Database backups tested and verified/);
    // The redraw of the tick is drawn before the prompt returns.
    r = await answer('1', at);
    at = r.at;
    assert.match(r.text, /\[ 1\] ☑ Database backups tested and verified/, `the redraw came before the prompt:\n${r.text}`);
    assert.match(r.text, /Database backups tested and verified\S* — ☑ @tester\b/, 'the ticker by name');

    r = await answer('/as bob', at);
    at = r.at;
    r = await answer('/checklist assign production-readiness "Redis persistence" @alice', at);
    at = r.at;
    assert.match(r.text, /assigned to @alice\b/, `names, not ids:\n${r.text}`);
    assert.ok(!/@U[A-Z0-9]+/.test(r.text), 'no raw user ids');
    r = await answer('/checklist assign production-readiness "Redis persistence" @here', at);
    at = r.at;
    assert.ok(!r.text.includes('UHERE') && !r.text.includes('<@'), `@here is not a user:\n${r.text}`);
    assert.match(r.text, /Usage: `?\/checklist assign/, 'and is refused as an assignee');

    type('quit');
    assert.equal((await cli.exited).code, 0, cli.err());
  } finally {
    cli.kill();
  }
});

test('a message of text alone (the on-call heads-up DM) shows dates and mentions as Slack does, never its markup', async () => {
  const runbooks = runbooksDir({ 'a.md': '# A\n\n## One\n\nText.\n' });
  // A 12-hour rotation always has a handoff within a day: its next person is sent the heads-up as the app starts.
  cpSync(new URL('../runbooks/oncall.yml', import.meta.url), join(runbooks, 'oncall.yml'));
  temps.push(runbooks);
  const cli = openConsole(runbooks);
  try {
    const at = await cli.waitFor('Heads-up: you are on call for', 0, STARTUP_MS);
    const line = cli.out().slice(at, cli.out().indexOf('\n', at));
    assert.doesNotMatch(line, /<!date|<@|\{date/, `no Slack markup printed: ${line}`);
    assert.match(line, /from \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/, `the dates as the console writes them: ${line}`);
    await quitCleanly(cli);
  } finally {
    cli.kill();
  }
});
