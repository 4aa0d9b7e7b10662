import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { RunbookLibrary } from '../src/runbooks/library.ts';
import { alice, runbooksDir, startApp, type TestApp } from './support/harness.ts';
import { validateSlack } from './support/validator.ts';

// Broken front matter (issue 6 point 3): lint refuses it (test/lint.test.ts); the app still serves everything.

const FILES = {
  'ops/bad.md': ['---', 'title: [unclosed', 'owner: ops', '---', '# Bad front matter', '', 'Body of the bad one.', ''].join('\n'),
  'ops/lock.md': ['---', 'title: Locked', 'lock: 3', '---', '# Lock three', '', '## Tasks', '', '- [ ] Only mine to untick', ''].join('\n'),
  'ops/empty.md': '',
  'deploy.md': '# Deploy\n\n## Ship it\n\nRun the wombatfjord pipeline.\n',
  'db/restore.md': '---\nowner: dba\nweight: 3\n---\n# Restore\n\n## Steps\n\nRun pg_restore.\n',
};

let app: TestApp;
before(async () => {
  app = await startApp({ runbooks: runbooksDir(FILES) });
});
after(async () => {
  await app?.stop();
});

async function runbook(text: string): Promise<string> {
  const res = await app.sim.command('/runbook', text, alice);
  assert.equal(res.status, 200, `/runbook ${text} → HTTP ${res.status}`);
  const blocks = (res.body as { blocks?: unknown[] }).blocks;
  assert.ok(Array.isArray(blocks), `/runbook ${text} answered with blocks`);
  assert.deepEqual(validateSlack('blocks', blocks, 'ack'), []);
  return JSON.stringify(blocks);
}

test('the app starts on a folder with broken front matter and answers /runbook for every runbook', async () => {
  assert.match(await runbook('deploy'), /wombatfjord/);
  assert.match(await runbook('db/restore'), /Run pg_restore/);
  // Served without their front matter: titled by their first heading, not by the ignored `title:`.
  assert.match(await runbook('ops/bad'), /Bad front matter[\s\S]*Body of the bad one/);
  const locked = await runbook('ops/lock');
  assert.match(locked, /Lock three/);
  assert.doesNotMatch(locked, /"Locked"/);
  assert.equal(app.preflight.deps.library.get('ops/lock')?.meta.lock, undefined, 'lock: 3 is not read as anything');
  assert.match(await runbook(''), /ops\/empty/, 'the empty one is listed too');
  assert.deepEqual(app.slack.rejections, []);
});

test('each front-matter problem is logged once, at load, not again on every reload', () => {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  const dir = runbooksDir(FILES);
  const library = new RunbookLibrary(dir, log);
  library.load();
  library.load();
  const problems = lines.map((l) => JSON.parse(l) as { level: number; file: string; line: number; msg: string; problem: string }).filter((l) => /front matter/.test(l.msg));
  assert.deepEqual(problems.map((p) => [p.level, p.file.slice(dir.length + 1), p.line]), [[50, 'ops/bad.md', 3], [50, 'ops/lock.md', 3]]);
  assert.match(problems[1]!.problem, /lock: Invalid option/);
});
