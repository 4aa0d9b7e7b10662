import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { applyChange, archiveInstance, createInstance } from '../src/checklist/store.ts';
import { buildDigest, digestMessage } from '../src/readiness/digest.ts';
import type { FakeMessage } from '../src/console/fakeSlack.ts';
import type { SlackUser } from '../src/console/simulator.ts';
import { overallLine } from '../src/readiness/blocks.ts';
import { readiness, sparkline } from '../src/readiness/domain.ts';
import { plansOf } from '../src/rollback/domain.ts';
import { abortRun, createRun } from '../src/rollback/store.ts';
import { parseRunbook } from '../src/runbooks/parse.ts';
import { alice, bob, eventually, runbooksDir, SEED, startApp, type TestApp } from './support/harness.ts';
import { validateSlack } from './support/validator.ts';

// /readiness over the real Bolt receiver, a real database and the validating fake Slack.

interface Opt {
  text: { type: string; text: string };
  value: string;
}
interface Element {
  type: string;
  action_id: string;
  options: Opt[];
  initial_options?: Opt[];
}

const GATED = `---
owner: team-gate
gates:
  Launch:
    - area-a
    - Area B
  Typo gate:
    - area-z
---
# Gated Launch

## Area A
- [ ] Alpha one
- [ ] Alpha two

## Area B
- [x] Beta one
- [ ] Beta two

## Area C
- [ ] Gamma one
`;

/** All the text of an answer's blocks (sections, contexts, headers). */
function textOf(body: unknown): string {
  const b = body as { text?: string; blocks?: Array<{ text?: { text: string }; elements?: Array<{ text?: string }> }> };
  return (b.blocks ?? []).map((x) => [x.text?.text ?? '', ...(x.elements ?? []).map((e) => e.text ?? '')].join('\n')).join('\n');
}

async function readinessOf(app: TestApp, text: string, user: SlackUser = alice): Promise<{ text: string; blocks: unknown[] }> {
  const res = await app.sim.command('/readiness', text, user, 'CREADY');
  assert.equal(res.status, 200, `/readiness ${text} answered ${res.status}`);
  const body = res.body as { blocks?: unknown[]; response_type?: string };
  assert.equal(body.response_type, 'ephemeral', 'answers are ephemeral');
  const blocks = body.blocks ?? [];
  assert.deepEqual(validateSlack('blocks', blocks, 'ack'), [], `Slack would refuse /readiness ${text}`);
  return { text: textOf(res.body), blocks };
}

/** Ticks the item whose text contains `item` in the checklist messages of channel, as a user would. */
async function tick(app: TestApp, channel: string, item: string, user: SlackUser = alice): Promise<void> {
  for (const message of app.slack.channelMessages(channel)) {
    for (const block of (message.blocks ?? []) as Array<{ type: string; block_id?: string; elements?: Element[] }>) {
      for (const el of block.elements ?? []) {
        const option = el.type === 'checkboxes' ? el.options.find((o) => o.text.text.includes(item)) : undefined;
        if (!option) continue;
        const res = await app.sim.check(user, { action_id: el.action_id, block_id: block.block_id }, [...(el.initial_options ?? []), option], { message: message as FakeMessage });
        assert.equal(res.status, 200, `tick ${item}`);
        return;
      }
    }
  }
  assert.fail(`no checkbox for ${item} in ${channel}`);
}

let app: TestApp;
before(async () => {
  const dir = runbooksDir({ 'launch/gated.md': GATED });
  copyFileSync(SEED, join(dir, 'production-readiness.md'));
  app = await startApp({ runbooks: dir });
});
after(() => app?.stop());

test('on the seed as given: 20/56 = 36% overall, per-section figures, and the declared 90% beside it', async () => {
  const runbook = parseRunbook('production-readiness', 'seed', readFileSync(SEED, 'utf8'));
  const now = new Date('2026-12-01T09:00:00Z');
  const r = readiness({ id: 'production-readiness', runbookId: runbook.id, name: runbook.title, createdBy: 'runbook', createdAt: now }, runbook, new Map(), { now, zone: 'UTC' });
  assert.deepEqual({ done: r.overall.done, total: r.overall.total, pct: r.overall.pct }, { done: 20, total: 56, pct: 36 });
  assert.deepEqual(
    r.sections.map((s) => [s.title, s.done, s.total, s.pct]),
    [
      ['Phase 1 - COMPLETED (2025-10-21) › 1. Git Repository', 3, 3, 100],
      ['Phase 1 - COMPLETED (2025-10-21) › 2. Database Migrations', 3, 3, 100],
      ['Phase 1 - COMPLETED (2025-10-21) › 3. Testing', 3, 3, 100],
      ['Phase 1 - COMPLETED (2025-10-21) › 4. Build Verification', 3, 3, 100],
      ['Phase 2 - RECOMMENDED (Before Launch) › 6. Documentation Review (LOW PRIORITY)', 0, 4, 0],
      ['Security Checklist › Production Environment', 0, 10, 0],
      ['Security Checklist › Application Security', 8, 8, 100],
      ['Pre-Launch Checklist › Infrastructure', 0, 7, 0],
      ['Pre-Launch Checklist › Application', 0, 6, 0],
      ['Pre-Launch Checklist › Team', 0, 5, 0],
      ['Pre-Launch Checklist › Testing', 0, 4, 0],
    ],
  );
  assert.equal(r.declared?.overall, 90);
  assert.deepEqual(r.declared?.categories.slice(0, 3), [{ name: 'Code Quality', pct: 100 }, { name: 'Security', pct: 95 }, { name: 'Testing', pct: 15 }]);
  // Sections at 0% are blockers; the seed's HIGH PRIORITY sections have no task items.
  assert.equal(r.blockers.filter((b) => b.kind === 'section').length, 6);
  assert.match(overallLine(r), /^\*Overall 36%\* · declared 90% _\(the runbook's own figure, 54 points above the measured\)_$/);

  const shown = await readinessOf(app, 'production-readiness');
  assert.ok(shown.text.includes('*Overall 36%* · declared 90%'), `measured first, declared beside it: ${shown.text.slice(0, 300)}`);
  assert.ok(shown.text.includes('`▓▓▓▓░░░░░░ 36%` 20/56 items ticked'), 'overall bar');
  assert.ok(shown.text.includes('`░░░░░░░░░░   0%` Security Checklist › Production Environment 0/10'), 'section bar');
  assert.ok(shown.text.includes('`▓▓▓▓▓▓▓▓▓▓ 100%` Security Checklist › Application Security 8/8'), 'section bar');
  assert.ok(shown.text.includes("_Declared_ in the runbook's score table"), 'declared categories are labelled as declared');
  assert.ok(shown.text.includes('section at 0%: *Pre-Launch Checklist › Team* (0/5)'), 'empty sections are blockers');
  assert.deepEqual(app.slack.rejections, []);
});

test('the repo runbook: its Deployment Decision gates resolve, and both are NO-GO naming what is missing', () => {
  const runbook = parseRunbook('production-readiness', 'runbooks/production-readiness.md', readFileSync(new URL('../runbooks/production-readiness.md', import.meta.url), 'utf8'));
  assert.deepEqual(runbook.diagnostics, [], 'lint-clean');
  const now = new Date('2026-12-01T09:00:00Z');
  const r = readiness({ id: runbook.id, runbookId: runbook.id, name: runbook.title, createdBy: 'runbook', createdAt: now }, runbook, new Map(), { now, zone: 'UTC' });
  assert.deepEqual(r.overall.done, 20, 'front matter changes no item');
  assert.deepEqual(r.gates.map((g) => [g.name, g.go, g.required, g.missing.length, g.unknown]), [
    ['Ready for beta/staging', false, 8, 8, []],
    ['Ready for production', false, 41, 33, []],
  ]);
  assert.ok(r.gates[0]!.missing.some((m) => m.text === 'Load tests completed successfully'), 'names the missing item');
});

test('a gate over two sections turns GO exactly when their last item is ticked; unknown references keep a gate NO-GO', async () => {
  await app.sim.command('/checklist', 'launch/gated', alice, 'CGATE');
  await eventually(() => assert.ok(app.slack.channelMessages('CGATE').length > 0, 'checklist posted'));
  await app.sim.command('/checklist', 'assign launch/gated "Beta two" <@UBOB>', alice, 'CGATE');

  let r = await readinessOf(app, 'launch/gated');
  assert.ok(r.text.includes('⛔ *NO-GO* · Launch: 3 of 4 items missing'), `gate before: ${r.text}`);
  assert.ok(r.text.includes('• Beta two _(Area B)_ — <@UBOB>'), 'missing item with its owner');
  assert.ok(r.text.includes('• Alpha one _(Area A)_ — team-gate _(runbook owner)_'), 'unowned items fall back to the runbook owner');
  assert.ok(r.text.includes('⚠️ front matter names `area-z`, which is no section or item of this runbook'), 'unknown reference shown');
  assert.ok(r.text.includes('⛔ *NO-GO* · Typo gate'), 'a gate naming nothing known is NO-GO');

  for (const [item, missing] of [['Alpha one', 2], ['Gamma one', 2], ['Alpha two', 1]] as const) {
    await tick(app, 'CGATE', item);
    r = await readinessOf(app, 'launch/gated');
    assert.ok(r.text.includes(`⛔ *NO-GO* · Launch: ${missing} of 4 items missing`), `after ${item}: ${r.text.slice(0, 400)}`);
  }
  await tick(app, 'CGATE', 'Beta two', bob);
  r = await readinessOf(app, 'launch/gated');
  assert.ok(r.text.includes('✅ *GO* · Launch _(all 4 items ticked)_'), `GO once the last item is ticked: ${r.text.slice(0, 400)}`);
  assert.ok(r.text.includes('*Overall 100%*'), 'ticks move /readiness at once');
  assert.deepEqual(app.slack.rejections, []);
});

test('without an argument: every checklist, most urgent launch first; unknown names get the closest; help escapes placeholders', async () => {
  await app.sim.command('/checklist', 'new launch/gated "Soon launch" launch 2026-12-10', alice, 'CREADY');
  await app.sim.command('/checklist', 'new launch/gated "Later launch" launch 2027-03-01', alice, 'CREADY');
  const all = await readinessOf(app, '');
  const order = ['`soon-launch`', '`later-launch`', '`production-readiness`'].map((id) => all.text.indexOf(id));
  assert.ok(order.every((i) => i >= 0) && order[0]! < order[1]! && order[1]! < order[2]!, `most urgent first: ${order}`);
  assert.ok(/🚀 launch in \d+ days \(2026-12-10\)/.test(all.text), 'days left to launch');

  const res = await app.sim.command('/readiness', 'sooon-launch', alice, 'CREADY');
  assert.match((res.body as { text: string }).text, /No checklist `sooon-launch`\. Closest: `soon-launch`/);

  // One checklist by its id, by its runbook's id (the default checklist) or by its name in any case.
  const byName = await readinessOf(app, 'SOON LAUNCH');
  assert.ok(byName.text.includes('Soon launch') && !byName.text.includes('Later launch'), `by name: ${byName.text.slice(0, 300)}`);
  const byRunbook = await readinessOf(app, 'launch/gated');
  assert.ok(byRunbook.text.includes('Readiness · Gated Launch') && !byRunbook.text.includes('Soon launch'), `the runbook's default checklist: ${byRunbook.text.slice(0, 300)}`);
  await archiveInstance(app.preflight.deps.db, { id: 'later-launch', actor: alice.id, source: 'test' }, new Date());
  const archived = await app.sim.command('/readiness', 'later-launch', alice, 'CREADY');
  assert.match((archived.body as { text: string }).text, /No checklist `later-launch`/, 'an archived checklist is not shown');
  assert.ok(!(await readinessOf(app, '')).text.includes('`later-launch`'), 'nor listed');

  const help = await readinessOf(app, 'help');
  assert.ok(help.text.includes('`/readiness &lt;checklist&gt;`') && !help.text.includes('<checklist>'), 'placeholders escaped');
});

test('on call and open rollbacks are shown once those capabilities provide them; App Home gets the dashboard', async () => {
  const deps = app.preflight.deps;
  deps.onCall = async () => [{ rotationId: 'r1', rotationName: 'Backend <primary>', userId: 'UONCALL' }];
  // A real open run of the seed's Rollback Plan, read by /readiness in the statement that reads the checklists.
  const plan = plansOf(deps.library.get('production-readiness')!)[0]!;
  const run = await createRun(deps.db, { plan, channel: 'CINC', startedBy: bob.id, drill: false, values: {} }, new Date('2026-12-01T08:00:00Z'), async () => {});
  try {
    const r = await readinessOf(app, 'production-readiness');
    assert.ok(r.text.includes('📟 *On call:* <@UONCALL> (Backend &lt;primary&gt;)'), `on call: ${r.text.slice(-600)}`);
    assert.ok(r.text.includes(`*${plan.title}* (\`production-readiness\`) started by <@UBOB>`), `open rollback: ${r.text.slice(-600)}`);
    assert.ok((await readinessOf(app, '')).text.includes(`*${plan.title}*`), 'and in the overview');
  } finally {
    deps.onCall = undefined;
    await abortRun(deps.db, { runId: run.id, actor: bob.id, reason: 'test over' }, new Date(), async () => {});
  }
  assert.ok((await readinessOf(app, 'production-readiness')).text.includes('↩️ *Open rollbacks:* none'), 'an aborted run is no longer open');
  await app.sim.event({ type: 'app_home_opened', user: alice.id, tab: 'home' }, 'EvHOME1');
  const view = await eventually(() => {
    const v = app.slack.views.get(alice.id);
    assert.ok(v, 'home published');
    return JSON.stringify(v);
  });
  assert.ok(view.includes('"text":"Readiness"') && view.includes('*Overall 36%* · declared 90%'), 'readiness part on App Home');
  assert.deepEqual(app.slack.rejections, []);
});

test('a day-old snapshot gives the change since yesterday and the trend (injected clock)', async () => {
  let clock = new Date('2026-11-30T00:05:00Z');
  const dir = runbooksDir({});
  copyFileSync(SEED, join(dir, 'production-readiness.md'));
  const day = await startApp({ runbooks: dir, now: () => clock, pollMs: 0 });
  try {
    let r = await readinessOf(day, 'production-readiness');
    assert.ok(r.text.includes('no snapshot yet'), 'nothing to compare with at first');
    await day.preflight.deps.jobs.runDue();
    const snaps = await day.db.query<{ day: string; done: number }>('select day::text as day, done from readiness_snapshots');
    assert.deepEqual(snaps.map((s) => [s.day, Number(s.done)]), [['2026-11-30', 20]], 'one snapshot for the day');
    await day.preflight.deps.jobs.runDue();
    assert.equal((await day.db.query('select 1 from readiness_snapshots')).length, 1, 'taken once a day');

    clock = new Date('2026-12-01T09:30:00Z');
    await day.sim.command('/checklist', 'production-readiness', alice, 'CDAY');
    await eventually(() => assert.ok(day.slack.channelMessages('CDAY').length > 0, 'checklist posted'));
    await tick(day, 'CDAY', 'DNS records updated');
    r = await readinessOf(day, 'production-readiness');
    assert.ok(r.text.includes('📈 +1 item (+2 pts) since yesterday'), `change: ${r.text.slice(0, 400)}`);
    await tick(day, 'CDAY', 'HTTPS enforced');
    r = await readinessOf(day, 'production-readiness');
    assert.ok(r.text.includes('*Overall 39%*') && r.text.includes('📈 +2 items (+3 pts) since yesterday'), `ticks move it at once: ${r.text.slice(0, 400)}`);
    assert.ok(r.text.includes(`14 days: \`${'·'.repeat(12)}${sparkline([36, 39])}\``), `trend from the snapshot: ${r.text.slice(0, 400)}`);
    assert.deepEqual(day.slack.rejections, []);
  } finally {
    await day.stop();
  }
});

test('with 50 checklists of 200 items, /readiness stays within Slack limits and says what it leaves out', async () => {
  const lines = ['---', 'gates:', '  Everything: [area-2, area-4, area-6, area-8, area-10, area-12, area-14, area-16, area-18, area-20]', '---', '# Big Launch'];
  for (let s = 1; s <= 20; s++) {
    lines.push('', `## Area ${s}${s % 2 ? ' (HIGH PRIORITY)' : ''}`);
    for (let i = 1; i <= 10; i++) lines.push(`- [${i <= s % 4 ? 'x' : ' '}] Check ${s}.${i}, with a description long enough to take room in a message <@U123> @channel`);
  }
  const dir = runbooksDir({ 'big.md': lines.join('\n') });
  const big = await startApp({ runbooks: dir });
  try {
    const runbook = big.preflight.deps.library.get('big')!;
    for (let n = 1; n <= 50; n++) {
      await createInstance(big.db, runbook, { id: `launch-${n}`, name: `Launch number ${n} of the big program`, launchDate: `2027-01-${String((n % 28) + 1).padStart(2, '0')}`, actor: 'UALICE', source: 'test' }, new Date());
    }
    const all = await readinessOf(big, '');
    assert.ok(all.blocks.length <= 50, `${all.blocks.length} blocks`);
    assert.ok(/…and 21 more, less urgent: `launch-/.test(all.text), 'names the checklists it does not draw');
    const one = await readinessOf(big, 'launch-7');
    assert.ok(one.blocks.length <= 50, `${one.blocks.length} blocks`);
    assert.ok(/⛔ \*NO-GO\* · Everything: \d+ of 100 items missing/.test(one.text) && one.text.includes('…and '), 'gate cut short, saying how many more');
    assert.ok(/\*Blockers\* \(\d+\)/.test(one.text) && /…and \d+ more: `\/readiness launch-7`/.test(one.text), 'blockers cut short, saying where the rest is');
    assert.ok(!one.text.includes('<@U123>') && one.text.includes('@\u200bchannel'), 'runbook text pings nobody');

    // The digest over the same 50: ticks by 30 people in the last 24 hours, too many to list.
    for (let u = 0; u < 30; u++) {
      const keys = runbook.tasks.slice(100 + u * 3, 103 + u * 3).map((t) => t.key);
      await applyChange(big.db, { instanceId: `launch-${(u % 50) + 1}`, tick: keys, untick: [], actor: `UPEOPLE${String(u).padStart(2, '0')}`, source: 'test', lockOwner: false, admins: [] }, new Date());
    }
    const digest = digestMessage(await buildDigest(big.preflight.deps));
    assert.ok(digest.blocks.length <= 50, `${digest.blocks.length} digest blocks`);
    assert.deepEqual(validateSlack('blocks', digest.blocks, 'chat.postMessage'), [], 'Slack accepts the digest');
    const digestText = JSON.stringify(digest.blocks);
    assert.ok(/…and 31 more, less urgent/.test(digestText), 'the digest names the checklists it does not draw');
    assert.ok(/…and \d+ more people or checklists/.test(digestText), `and the ticks it does not list: ${digestText.slice(-1500)}`);
    assert.deepEqual(big.slack.rejections, []);
  } finally {
    await big.stop();
  }
});
