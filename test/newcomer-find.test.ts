import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { allSections } from '../src/runbooks/model.ts';
import { alice, corpusDir, eventually, startApp, type TestApp } from './support/harness.ts';
import { validateSlack } from './support/validator.ts';

// Issue 11 points 5 and 11: sections, runbooks and checklists are found as they are shown, typos find the
// right thing, one wording for suggestions, and search exclusions hold.

let app: TestApp;
const CHANNEL = 'CFIND';

before(async () => {
  app = await startApp({ runbooks: corpusDir() });
});

after(async () => {
  await app?.stop();
});

type Blocks = Array<Record<string, any>>;

async function answer(command: string, text: string): Promise<{ text: string; blocks: Blocks }> {
  const res = await app.sim.command(command, text, alice, CHANNEL);
  assert.equal(res.status, 200, `${command} ${text}: HTTP ${res.status}`);
  const body = (res.body ?? {}) as { text?: string; blocks?: Blocks };
  if (body.blocks) assert.deepEqual(validateSlack('blocks', body.blocks, 'ack'), [], `${command} ${text}: Slack accepts it`);
  const all = JSON.stringify(body);
  assert.ok(!all.includes('Closest'), `${command} ${text}: one wording for suggestions ("Did you mean:")`);
  return { text: [body.text ?? '', ...(body.blocks ?? []).flatMap((b) => [b.text?.text ?? '', ...(b.elements ?? []).map((e: { text?: unknown }) => (typeof e.text === 'string' ? e.text : ''))])].join('\n'), blocks: body.blocks ?? [] };
}

const seed = () => app.preflight.deps.library.get('production-readiness')!;

test('sections are numbered where they are listed, and <n> opens the one shown with that number', async () => {
  const top = seed().root.children;
  const whole = await answer('/runbook', 'production-readiness');
  assert.match(whole.text, /\*Sections:\*/, 'the first page lists the sections');
  assert.ok(whole.text.includes(`\`2\` ${top[1]!.title}`), `section 2 is listed as 2:\n${whole.text.slice(0, 600)}`);

  const second = await answer('/runbook', 'production-readiness 2');
  assert.ok(second.text.includes(`§ 2 ${top[1]!.title}`), `2 opens the second listed section (${top[1]!.title}):\n${second.text.slice(0, 300)}`);
  const firstChild = top[1]!.children[0]!;
  const nested = await answer('/runbook', 'production-readiness 2.1');
  assert.ok(nested.text.includes(`§ 2.1 ${firstChild.path.join(' › ')}`), `2.1 opens its first part:\n${nested.text.slice(0, 300)}`);
});

test('typos find the right section and the right search word', async () => {
  const typo = await answer('/runbook', 'production-readiness rolback');
  const rollback = allSections(seed()).find((s) => /Rollback Plan/.test(s.title))!;
  assert.match(typo.text, /Did you mean:\n• `\d+` 🆘 Rollback Plan/, `the Rollback Plan comes first:\n${typo.text}`);
  assert.ok(!/Team|Testing|This Week/.test(typo.text), `no unrelated prefix matches:\n${typo.text}`);
  assert.ok(rollback, 'the seed has a Rollback Plan');

  const search = await answer('/runbook', 'search rollbak');
  assert.match(search.text, /No section matches _rollbak_\. Did you mean:\n• `\/runbook search rollback`/, `the spelling is suggested:\n${search.text}`);
  const fixed = await answer('/runbook', 'search rollback');
  assert.match(fixed.text, /sections? match/, 'the suggestion finds sections');
});

test('/runbook TargetDown, which two runbooks match equally, lists both', async () => {
  const both = await answer('/runbook', 'TargetDown');
  const ids = app.preflight.deps.library.all().filter((r) => r.id.endsWith('/TargetDown')).map((r) => r.id);
  assert.equal(ids.length, 2, 'the corpus has two TargetDown runbooks');
  assert.match(both.text, /`TargetDown` matches 2 runbooks/, both.text);
  for (const id of ids) assert.ok(both.text.includes(`\`${id}\``), `${id} is listed`);
});

test('/checklist accepts a unique prefix of a checklist id, and says which when several begin so', async () => {
  await answer('/checklist', 'new production-readiness "Payments v2"');
  await answer('/checklist', 'new production-readiness "Payments web"');
  const before = app.slack.channelMessages(CHANNEL).length;
  const posted = await app.sim.command('/checklist', 'payments-v', alice, CHANNEL);
  assert.equal(posted.status, 200, 'posted');
  await eventually(() => assert.ok(app.slack.channelMessages(CHANNEL).length > before, 'payments-v posts payments-v2'));
  assert.match(JSON.stringify(app.slack.channelMessages(CHANNEL).at(-1)!.blocks), /Payments v2/, 'the right checklist');

  const ambiguous = await answer('/checklist', 'payments');
  assert.match(ambiguous.text, /`payments` begins 2 checklists/, ambiguous.text);

  const typo = await answer('/checklist', 'producton-readiness');
  assert.match(typo.text, /No checklist `producton-readiness`\. Did you mean:\n• `production-readiness`/, typo.text);
  const section = await answer('/checklist', 'production-readiness infrastrcture');
  assert.match(section.text, /No section of `production-readiness` matches `infrastrcture`\. Did you mean:\n• `\d+(\.\d+)*` Infrastructure/, section.text);
  assert.deepEqual(app.slack.rejections, [], 'Slack accepted everything');
});

test('search exclusions hold for the whole query and every form of the word', async () => {
  const res = await answer('/runbook', 'search redis or minio -backup');
  const hits = res.blocks.filter((b) => b.type === 'section' && b.accessory);
  assert.ok(hits.length >= 2, `redis or minio finds sections: ${hits.length}`);
  for (const hit of hits) {
    const ref = JSON.parse(hit.accessory.value) as { r: string; s?: string };
    const runbook = app.preflight.deps.library.get(ref.r)!;
    const section = ref.s ? allSections(runbook).find((s) => s.key === ref.s)! : runbook.root;
    const body = JSON.stringify(section.blocks) + section.title;
    assert.ok(!/backup/i.test(body), `${ref.r} › ${section.title} mentions backups, which were excluded`);
  }
});
