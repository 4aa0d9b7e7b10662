import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { alice, corpusDir, startApp, type TestApp } from './support/harness.ts';
import { assertEscaped } from './support/escaping.ts';

// Issue 11 point 1: every help and usage text Preflight writes survives Slack's parser.

let app: TestApp;

before(async () => {
  app = await startApp({ runbooks: corpusDir() });
});

after(async () => {
  await app?.stop();
});

async function answer(command: string, text: string): Promise<{ text?: string; blocks?: unknown[] }> {
  const res = await app.sim.command(command, text, alice, 'CHELP');
  assert.equal(res.status, 200, `${command} ${text}: HTTP ${res.status}`);
  assert.ok(res.body && typeof res.body === 'object', `${command} ${text}: answered in the acknowledgement`);
  return res.body as { text?: string; blocks?: unknown[] };
}

/** Every help, usage and list answer of /runbook and /checklist that carries placeholder text. */
const HELP_AND_USAGE: Array<[string, string]> = [
  ['/runbook', 'help'],
  ['/runbook', ''],
  ['/runbook', 'search'],
  ['/checklist', 'help'],
  ['/checklist', ''],
  ['/checklist', 'new'],
  ['/checklist', 'new production-readiness'],
  ['/checklist', 'assign backups'],
  ['/checklist', 'due backups'],
  ['/checklist', 'history'],
  ['/checklist', 'assign backups @alice'],
  ['/checklist', 'due production-readiness "Database backups tested" <soon>'],
  ['/checklist', 'new production-readiness Payments launch <soon>'],
  ['/checklist', 'archive'],
];

test('help, usage and list texts escape every literal <, > and & (placeholders show as typed)', async () => {
  for (const [command, text] of HELP_AND_USAGE) {
    const reply = await answer(command, text);
    assertEscaped(`${command} ${text}`, reply);
  }
  const help = await answer('/runbook', 'help');
  assert.match(JSON.stringify(help.blocks), /\/runbook &lt;id&gt; &lt;section&gt;/, 'the placeholder is escaped, so Slack shows <id>');
  const checklistHelp = await answer('/checklist', 'help');
  assert.match(JSON.stringify(checklistHelp.blocks), /\/checklist new &lt;runbook&gt; &lt;name&gt;/, 'the placeholder is escaped, so Slack shows <runbook>');
  assert.deepEqual(app.slack.rejections, [], 'Slack accepted everything');
});
