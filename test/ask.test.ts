import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { RUNBOOK_ACTIONS } from '../src/runbooks/blocks.ts';
import type { FakeMessage } from '../src/console/fakeSlack.ts';
import { alice, blockText, corpusDir, eventually, runbooksDir, SEED, SIGNING_SECRET, startApp, type TestApp } from './support/harness.ts';
import { FakeOpenAI } from './support/fakeOpenAI.ts';

// /runbook ask end to end: signed commands to the real receiver, a real database, the validating fake Slack,
// and a local OpenAI-compatible server behind OPENAI_BASE_URL.

const OPENAI_KEY = 'sk-test-openai-key-0123456789abcdef';
let plain: TestApp;
let modelApp: TestApp;
const openai = new FakeOpenAI();

before(async () => {
  await openai.start();
  plain = await startApp({ runbooks: corpusDir() });
  const seedOnly = runbooksDir();
  cpSync(SEED, join(seedOnly, 'production-readiness.md'));
  modelApp = await startApp({
    runbooks: seedOnly,
    env: { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: openai.baseUrl, OPENAI_MODEL: 'test-model', ASK_MODEL_TIMEOUT_MS: '1500' },
  });
});
after(async () => {
  await plain?.stop();
  await modelApp?.stop();
  await openai.stop();
});

type Blocks = Array<Record<string, any>>;

/** Open buttons (the /runbook open action) in blocks, with their parsed values. */
function openButtons(blocks: Blocks): Array<{ r: string; s?: string; p: number }> {
  return blocks.filter((b) => b.accessory?.action_id === RUNBOOK_ACTIONS.open).map((b) => JSON.parse(b.accessory.value));
}

function assertPingsNobody(text: string): void {
  assert.doesNotMatch(text, /<!(channel|here|everyone|subteam)|<@[UW]/, `no mention in:\n${text}`);
  assert.doesNotMatch(text, /(^|[^\u200b])@(channel|here|everyone)\b/, `no live @channel in:\n${text}`);
}

/** The ephemeral reply the app sends through response_url after its acknowledgement. */
async function nextAnswer(app: TestApp, since: number): Promise<FakeMessage> {
  return eventually(() => {
    const m = [...app.slack.messages.values()].slice(since).find((x) => x.user === alice.id && blockText(x.blocks).includes('💬'));
    assert.ok(m, 'an answer arrived through response_url');
    return m;
  }, 10000);
}

test('without a key, "how do I roll back the database" answers at once with the seed\'s Rollback Plan first, commands verbatim, each section with Open', async () => {
  const res = await plain.sim.command('/runbook', 'ask how do I roll back the database', alice);
  assert.equal(res.status, 200);
  const body = res.body as { blocks: Blocks; response_type: string };
  assert.equal(body.response_type, 'ephemeral');
  const all = blockText(body.blocks);
  assert.match(all, /No model configured: the closest sections are…/);
  const buttons = openButtons(body.blocks);
  assert.equal(buttons.length, 3, `three sections:\n${all}`);
  assert.deepEqual(buttons[0], { r: 'production-readiness', s: 'rollback-plan', p: 0 }, 'Rollback Plan first');
  const first = body.blocks.find((b) => b.accessory?.action_id === RUNBOOK_ACTIONS.open)!;
  assert.match(first.text.text, /Production Readiness Checklist\* › 🆘 Rollback Plan/);
  for (const line of ['docker-compose down api', 'git checkout &lt;previous-commit&gt;', 'pg_restore -h localhost -U postgres -d hamsaya /backups/latest.sql']) {
    assert.ok(all.split('\n').some((l) => l.trim() === line), `the runbook's own line: ${line}`);
  }
  assertPingsNobody(all);

  // Open shows the section as /runbook production-readiness rollback does, below the answer.
  const before = plain.slack.messages.size;
  const message: FakeMessage = { channel: 'C0CONSOLE', ts: '1.000001', blocks: body.blocks, ephemeral: true, user: alice.id };
  await plain.sim.press(alice, { action_id: RUNBOOK_ACTIONS.open, value: JSON.stringify(buttons[0]) }, { message });
  const opened = await eventually(() => {
    const m = [...plain.slack.messages.values()].slice(before).find((x) => blockText(x.blocks).includes('Rollback Plan'));
    assert.ok(m, 'the section opened');
    return m;
  });
  assert.match(blockText(opened.blocks), /make migrate-down/);
  assert.deepEqual(plain.slack.rejections, []);
});

test('without a key, questions phrased unlike the headings still find their section; no words and no match say so', async () => {
  const cases: Array<[string, { r: string; s: string }]> = [
    ['what do we do if the release breaks production', { r: 'production-readiness', s: 'rollback-plan' }],
    ['how do I generate a strong jwt secret', { r: 'production-readiness', s: 'phase-2-recommended-before-launch/1-production-secrets-high-priority' }],
    ['etcd has no leader, how do I fix it', { r: 'corpus/openshift/alerts/cluster-etcd-operator/etcdNoLeader', s: 'mitigation' }],
  ];
  for (const [q, want] of cases) {
    const res = await plain.sim.command('/runbook', `ask ${q}`, alice);
    const got = openButtons((res.body as { blocks: Blocks }).blocks).map(({ r, s }) => ({ r: r.replace('prometheus-operator/content/runbooks/etcd', 'openshift/alerts/cluster-etcd-operator'), s }));
    assert.ok(got.slice(0, 3).some((b) => b.r === want.r && b.s === want.s), `${q}: ${JSON.stringify(want)} in the top 3 of ${JSON.stringify(got)}`);
  }
  const usage = await plain.sim.command('/runbook', 'ask', alice);
  assert.match(blockText((usage.body as { blocks: Blocks }).blocks), /Usage: `\/runbook ask &lt;question&gt;`/);
  const none = await plain.sim.command('/runbook', 'ask zzyzx qqqqq', alice);
  assert.match(blockText((none.body as { blocks: Blocks }).blocks), /No runbook section matches _zzyzx qqqqq_/);
  const help = await plain.sim.command('/runbook', 'help', alice);
  assert.match(blockText((help.body as { blocks: Blocks }).blocks), /\/runbook ask &lt;question&gt;/);
  assert.deepEqual(plain.slack.rejections, []);
});

test('with a model: acks at once, sends the retrieved sections, shows only valid citations and only the runbook\'s own commands', async () => {
  openai.reply((req) => {
    const user = req.body.messages?.find((m) => m.role === 'user')?.content ?? '';
    const label = /\[(S\d+)\] Production Readiness Checklist \(production-readiness\) › 🆘 Rollback Plan/.exec(user)?.[1] ?? 'S1';
    return {
      content: {
        answer: 'Stop the api, check out the previous commit and rebuild; restore the database only if the schema changed. @channel <!here> <@U123> try `kubectl delete ns prod` first.',
        citations: [label, 'S9', 'runbooks/made-up.md'],
        commands: [
          { source: label, command: 'docker-compose   down api' },
          { source: label, command: 'pg_restore -h localhost -U postgres -d hamsaya /backups/latest.sql' },
          { source: label, command: 'rm -rf /var/lib/postgresql' },
        ],
      },
    };
  });
  const since = modelApp.slack.messages.size;
  const chatsBefore = openai.chats.length;
  const res = await modelApp.sim.command('/runbook', 'ask how do I roll back the database', alice);
  assert.equal(res.status, 200);
  assert.match(blockText((res.body as { blocks: Blocks }).blocks), /Looking through the runbooks/, 'the acknowledgement says it is working');

  const answer = await nextAnswer(modelApp, since);
  const shown = blockText(answer.blocks);
  const request = openai.chats[chatsBefore]!;
  assert.equal(request.body.model, 'test-model');
  assert.equal(request.headers.authorization, `Bearer ${OPENAI_KEY}`);
  const format = request.body.response_format as { type: string; json_schema: { strict: boolean; schema: { required: string[] } } };
  assert.equal(format.type, 'json_schema');
  assert.equal(format.json_schema.strict, true);
  assert.deepEqual(format.json_schema.schema.required, ['answer', 'citations', 'commands']);
  const user = request.body.messages!.find((m) => m.role === 'user')!.content;
  assert.match(user, /Question: how do I roll back the database/);
  assert.match(user, /\[S1\] /, 'sections are labelled');
  assert.match(user, /🆘 Rollback Plan\n[\s\S]*pg_restore -h localhost/, 'the Rollback Plan section with its text');
  assert.match(request.body.messages![0]!.content, /ONLY the runbook sections/);

  assert.match(shown, /Stop the api, check out the previous commit/);
  assert.match(shown, /```\ndocker-compose down api\n```/, 'the runbook\'s own spacing, not the model\'s');
  assert.match(shown, /pg_restore -h localhost -U postgres -d hamsaya \/backups\/latest.sql/);
  assert.doesNotMatch(shown, /rm -rf/, 'a command not in the runbook is not shown');
  assert.doesNotMatch(shown, /kubectl delete ns prod/, 'nor one quoted in the prose');
  assert.match(shown, /2 commands the model wrote are not in the runbook and are not shown/);
  assert.match(shown, /2 citations naming no section it was given were dropped/);
  const buttons = openButtons(answer.blocks as Blocks);
  assert.deepEqual(buttons, [{ r: 'production-readiness', s: 'rollback-plan', p: 0 }], 'one source, the one cited validly');
  assertPingsNobody(shown);
  assert.deepEqual(modelApp.slack.rejections, []);
});

test('the model never sees the environment\'s tokens and secrets, even when a question carries them', async () => {
  openai.reply({ content: { answer: 'See the plan.', citations: ['S1'], commands: [] } });
  const chatsBefore = openai.chats.length;
  const since = modelApp.slack.messages.size;
  await modelApp.sim.command('/runbook', `ask roll back with xoxb-test and ${SIGNING_SECRET} and ${OPENAI_KEY} xoxb-123-other-token`, alice);
  await nextAnswer(modelApp, since);
  const raw = openai.chats[chatsBefore]!.raw;
  for (const secret of ['xoxb-test', SIGNING_SECRET, OPENAI_KEY, 'xoxb-123-other-token']) assert.ok(!raw.includes(secret), `${secret} not sent to the model`);
  assert.match(raw, /\[redacted\]/);
});

test('a model that does not answer in time: the closest sections answer instead, before the model would have', async () => {
  let modelAnswered = false;
  openai.reply(async () => {
    setTimeout(() => (modelAnswered = true), 8000).unref();
    return { delayMs: 8000, content: { answer: 'An answer that came too late.', citations: ['S1'], commands: [] } };
  });
  const since = modelApp.slack.messages.size;
  const res = await modelApp.sim.command('/runbook', 'ask how do I roll back the database', alice);
  assert.equal(res.status, 200);
  assert.match(blockText((res.body as { blocks: Blocks }).blocks), /Looking through the runbooks/);
  const answer = await nextAnswer(modelApp, since);
  assert.equal(modelAnswered, false, 'the fallback came while the model was still silent');
  const shown = blockText(answer.blocks);
  assert.match(shown, /The model did not answer in time: the closest sections are…/);
  assert.deepEqual(openButtons(answer.blocks as Blocks)[0], { r: 'production-readiness', s: 'rollback-plan', p: 0 });
  assert.doesNotMatch(shown, /came too late/);
  assert.deepEqual(modelApp.slack.rejections, []);
});

test('a model that fails, replies off-schema or cites nothing it was given: the closest sections, said plainly', async () => {
  const cases: Array<[Parameters<FakeOpenAI['reply']>[0], RegExp]> = [
    [{ status: 500, json: { error: { message: 'boom', type: 'server_error' } } }, /The model could not answer: the closest sections are…/],
    [{ content: 'not json at all' }, /The model could not answer/],
    [{ content: { answer: 'x', citations: 'S1' } }, /The model could not answer/],
    [{ content: { answer: 'Made up.', citations: ['S7', 'elsewhere'], commands: [] } }, /The model cited no section it was given: the closest sections are…/],
  ];
  for (const [reply, lead] of cases) {
    openai.reply(reply);
    const since = modelApp.slack.messages.size;
    await modelApp.sim.command('/runbook', 'ask how do I roll back the database', alice);
    const answer = await nextAnswer(modelApp, since);
    const shown = blockText(answer.blocks);
    assert.match(shown, lead);
    assert.equal(openButtons(answer.blocks as Blocks).length > 0, true, `sections with Open buttons:\n${shown}`);
  }
  assert.deepEqual(modelApp.slack.rejections, []);
});
