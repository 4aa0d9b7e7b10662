import assert from 'node:assert/strict';
import { cpSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { alice, eventually, runbooksDir, SEED, startApp, type TestApp } from './support/harness.ts';
import { validateSlack } from './support/validator.ts';

// Runbooks are reloaded when their files change, without a restart: the library and the search index both.

const RESTORE = '# Restore the Database\n\n## Steps\n\nRun pg_restore from the nightly backup.\n';
const RELOAD_MS = 8000;

let app: TestApp;
let dir: string;

before(async () => {
  dir = runbooksDir({ 'production-readiness.md': '', 'db/restore.md': RESTORE, 'deploy.md': '# Deploy\n\n## Ship it\n\nRun the wombatfjord pipeline.\n' });
  cpSync(SEED, join(dir, 'production-readiness.md'));
  app = await startApp({ runbooks: dir, watch: true });
});

after(async () => {
  await app?.stop();
});

/** `/runbook <text>` as alice: the acknowledgement's blocks as one text, checked against Slack's schema. */
async function runbook(text: string): Promise<string> {
  const res = await app.sim.command('/runbook', text, alice);
  assert.equal(res.status, 200, `/runbook ${text} → HTTP ${res.status}`);
  const blocks = (res.body as { blocks?: unknown[] }).blocks;
  assert.ok(Array.isArray(blocks), `/runbook ${text} answered with blocks`);
  assert.deepEqual(validateSlack('blocks', blocks, 'ack'), [], 'validateSlack(\'blocks\', blocks, \'ack\') is []');
  return JSON.stringify(blocks);
}

test('a new file is served and searchable within seconds, without a restart', async () => {
  assert.match(await runbook('new-runbook'), /No runbook matches/);
  writeFileSync(join(dir, 'new-runbook.md'), '# New Runbook\n\n## Warm the caches\n\nStart the quokkaflux warmer before you send traffic.\n');
  await eventually(async () => {
    const shown = await runbook('new-runbook');
    assert.match(shown, /New Runbook/, 'shown matches /New Runbook/');
    assert.match(shown, /Start the quokkaflux warmer before you send traffic\./, 'shown matches /Start the quokkaflux warmer before you send traffic\\./');
  }, RELOAD_MS);
  // The search index follows the same change (it is updated after the library, so it may lag a moment).
  await eventually(async () => assert.match(await runbook('search quokkaflux'), /`new-runbook`/, 'runbook(\'search quokkaflux\') matches /`new-runbook`/'), RELOAD_MS);
  assert.match(await runbook(''), /`new-runbook` — New Runbook/, 'and it is in the list');
});

test('an edited file shows its new text, and search finds the new words and forgets the old', async () => {
  assert.match(await runbook('search nightly'), /`db\/restore`/);
  writeFileSync(join(dir, 'db/restore.md'), RESTORE.replace('the nightly backup', 'the hourly zebraglyph snapshot'));
  await eventually(async () => {
    const shown = await runbook('db/restore');
    assert.match(shown, /Run pg_restore from the hourly zebraglyph snapshot\./, 'shown matches /Run pg_restore from the hourly zebraglyph snapshot\\./');
    assert.doesNotMatch(shown, /nightly/, 'shown does not match /nightly/');
  }, RELOAD_MS);
  await eventually(async () => assert.match(await runbook('search zebraglyph'), /`db\/restore`/, 'runbook(\'search zebraglyph\') matches /`db\\/restore`/'), RELOAD_MS);
  assert.match(await runbook('search nightly'), /No section matches/);
});

test('a file replaced by rename (as git and editors save) is reloaded, and so are later edits to it', async () => {
  const temp = join(dir, '.deploy.md.tmp');
  writeFileSync(temp, '# Deploy\n\n## Ship it\n\nRun the narwhalquill pipeline, then watch the canary.\n');
  renameSync(temp, join(dir, 'deploy.md'));
  await eventually(async () => assert.match(await runbook('deploy'), /narwhalquill pipeline, then watch the canary/, 'runbook(\'deploy\') matches /narwhalquill pipeline, then watch the canary/'), RELOAD_MS);
  await eventually(async () => assert.match(await runbook('search narwhalquill'), /`deploy`/, 'runbook(\'search narwhalquill\') matches /`deploy`/'), RELOAD_MS);
  // The path now names a new file: an in-place edit of it must still be seen.
  writeFileSync(join(dir, 'deploy.md'), '# Deploy\n\n## Ship it\n\nRun the ibexlantern pipeline.\n');
  await eventually(async () => assert.match(await runbook('deploy'), /Run the ibexlantern pipeline\./, 'runbook(\'deploy\') matches /Run the ibexlantern pipeline\\./'), RELOAD_MS);
  await eventually(async () => assert.match(await runbook('search ibexlantern'), /`deploy`/, 'runbook(\'search ibexlantern\') matches /`deploy`/'), RELOAD_MS);
});

test('a new file in a new folder is picked up', async () => {
  mkdirSync(join(dir, 'ops/queues'), { recursive: true });
  writeFileSync(join(dir, 'ops/queues/drain.md'), '# Drain a Queue\n\n## Drain\n\nPause the pelicanmoss consumers first.\n');
  await eventually(async () => assert.match(await runbook('ops/queues/drain'), /Pause the pelicanmoss consumers first\./, 'runbook(\'ops/queues/drain\') matches /Pause the pelicanmoss consumers first\\./'), RELOAD_MS);
  await eventually(async () => assert.match(await runbook('search pelicanmoss'), /`ops\/queues\/drain`/, 'runbook(\'search pelicanmoss\') matches /`ops\\/queues\\/drain`/'), RELOAD_MS);
});

test('a deleted file answers not found with suggestions, and leaves the search index', async () => {
  rmSync(join(dir, 'new-runbook.md'));
  await eventually(async () => {
    const shown = await runbook('new-runbook');
    // Suggestions are only names near enough to be a typo; none here is.
    assert.match(shown, /No runbook matches `new-runbook`\./, 'says no runbook matches');
    assert.doesNotMatch(shown, /Warm the caches/, 'the deleted runbook is not shown');
  }, RELOAD_MS);
  const suggestions = [...(await runbook('new-runbook')).matchAll(/• `([^`]+)`/g)].map((m) => m[1]);
  assert.ok(!suggestions.includes('new-runbook'), `the deleted runbook is not suggested: ${suggestions.join(', ')}`);
  for (const id of suggestions) assert.ok(['production-readiness', 'db/restore', 'deploy', 'ops/queues/drain'].includes(id!), `suggests a runbook that exists: ${id}`);
  await eventually(async () => assert.match(await runbook('search quokkaflux'), /No section matches/, 'runbook(\'search quokkaflux\') matches /No section matches/'), RELOAD_MS);
  // The rest are still there.
  assert.match(await runbook('db/restore'), /zebraglyph/);
});

test('every message the app sent was one Slack would accept', () => {
  assert.deepEqual(app.slack.rejections, []);
});
