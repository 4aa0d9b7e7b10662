import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { alice, eventually, runbooksDir, startApp, type TestApp } from './support/harness.ts';

// What no listener handles is still answered at once, with a short explanation, over the real receiver.

let app: TestApp;
before(async () => {
  app = await startApp({ runbooks: runbooksDir({ 'a.md': '# A\n\n## One\n\nText.\n' }) });
});
after(async () => app?.stop());

test('a slash command with no listener gets an ephemeral answer within 3 s', async () => {
  const started = Date.now();
  const res = await app.sim.command('/not-built-yet', '', alice);
  assert.equal(res.status, 200, 'acknowledged');
  const body = res.body as { response_type?: string; text?: string };
  assert.equal(body.response_type, 'ephemeral', 'only the user sees it');
  assert.match(body.text ?? '', /`\/not-built-yet` is not available in this version of Preflight yet/, 'says what happened');
  assert.ok(Date.now() - started < 3000, 'within Slack\'s 3 s');
});

test('a button with an unknown action id is acknowledged and explained to the clicker', async () => {
  const message = { channel: 'C1', ts: '1.000001', ephemeral: false, blocks: [], text: 'old' };
  app.slack.messages.set('C1:1.000001', message);
  const res = await app.sim.press(alice, { action_id: 'legacy:button' }, { message });
  assert.equal(res.status, 200, 'acknowledged');
  const reply = await eventually(() => {
    const m = [...app.slack.messages.values()].find((x) => x.ephemeral && x.user === alice.id && /older version of Preflight/.test(x.text ?? ''));
    assert.ok(m, 'an ephemeral explanation reached the clicker');
    return m;
  });
  assert.match(reply.text ?? '', /run the command again/, 'says what to do');
});

test('a handled command is not caught', async () => {
  const res = await app.sim.command('/runbook', 'a', alice);
  assert.doesNotMatch(JSON.stringify(res.body), /not available/, '/runbook answers itself');
});
