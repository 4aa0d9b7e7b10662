import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FakeMessage } from '../src/console/fakeSlack.ts';
import type { SlackUser } from '../src/console/simulator.ts';
import { itemRef } from '../src/checklist/domain.ts';
import { alice, bob, eventually, runbooksDir, SEED, startApp, type TestApp } from './support/harness.ts';

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
interface Found {
  message: FakeMessage;
  blockId: string;
  element: Element;
}

const CHANNEL = 'CLAUNCH';

/** A runbook of `sections` sections of `per` open items each. */
function sectioned(title: string, sections: number, per: number): string {
  const lines = [`# ${title}`];
  for (let s = 0; s < sections; s++) {
    lines.push('', `## Area ${s + 1}`);
    for (let i = 0; i < per; i++) lines.push(`- [ ] Check ${s + 1}.${i + 1} of the area, with a description long enough to need the small print below it`);
  }
  return lines.join('\n');
}

/** A runbook with `ticked` items already [x] and `open` items to tick. */
function generated(title: string, ticked: number, open: number, front = ''): string {
  const lines = [front, `# ${title}`, '', '## Ready'];
  for (let i = 0; i < ticked; i++) lines.push(`- [x] Done thing ${i + 1}`);
  lines.push('', '## To do');
  for (let i = 0; i < open; i++) lines.push(`- [ ] Open thing ${i + 1}`);
  return lines.join('\n');
}

/** Every checkboxes element in the posted messages of a channel. */
function elements(app: TestApp, channel = CHANNEL): Found[] {
  return app.slack.channelMessages(channel).flatMap((message) =>
    ((message.blocks ?? []) as Array<{ type: string; block_id?: string; elements?: Element[] }>)
      .filter((b) => b.type === 'actions')
      .flatMap((b) => (b.elements ?? []).filter((e) => e.type === 'checkboxes').map((element) => ({ message, blockId: b.block_id!, element }))),
  );
}

function ticked(app: TestApp, channel = CHANNEL): string[] {
  return elements(app, channel).flatMap((f) => (f.element.initial_options ?? []).map((o) => o.value));
}

function users(n: number): SlackUser[] {
  return Array.from({ length: n }, (_, i) => ({ id: `UUSER${String(i).padStart(3, '0')}`, name: `user${i}` }));
}

/** A deep copy of a message as it was posted: what a client that has not refreshed still shows. */
function snapshot(m: FakeMessage): FakeMessage {
  return structuredClone(m);
}

/** The item key an option stands for (option values are short refs of keys). */
function keyOf(runbookId: string, value: string): string {
  return app.preflight.deps.library.get(runbookId)!.tasks.find((t) => itemRef(t.key) === value)!.key;
}

async function settle(app: TestApp): Promise<void> {
  await app.preflight.deps.redraws.settled();
}

async function post(app: TestApp, text: string, user = alice, channel = CHANNEL): Promise<void> {
  const before = app.slack.channelMessages(channel).length;
  const res = await app.sim.command('/checklist', text, user, channel);
  assert.equal(res.status, 200);
  await eventually(() => assert.ok(app.slack.channelMessages(channel).length > before, `nothing posted for ${text}: ${JSON.stringify(res.body)}`));
}

function ephemeralText(res: { body: unknown }): string {
  const b = res.body as { text?: string; blocks?: Array<{ text?: { text: string } }> };
  return [b.text ?? '', ...(b.blocks ?? []).map((x) => x.text?.text ?? '')].join('\n');
}

let app: TestApp;
before(async () => {
  const dir = runbooksDir({
    'launch/fifty.md': generated('Fifty Launch', 20, 50),
    'launch/locked.md': generated('Locked Launch', 1, 3, '---\nlock: owner\n---'),
    'launch/huge.md': sectioned('Huge Launch', 30, 10),
  });
  copyFileSync(SEED, join(dir, 'production-readiness.md'));
  app = await startApp({ runbooks: dir, env: { ADMIN_USERS: 'UADMIN' } });
});
after(() => app.stop());

test('the seed as given: /checklist shows all 56 items, 20 ticked, in messages Slack accepts', async () => {
  await post(app, 'production-readiness', alice, 'CSEED');
  const found = elements(app, 'CSEED');
  assert.equal(found.flatMap((f) => f.element.options).length, 56);
  assert.equal(ticked(app, 'CSEED').length, 20);
  assert.ok(found.every((f) => f.element.options.length <= 10));
  const text = JSON.stringify(app.slack.channelMessages('CSEED').map((m) => m.blocks));
  for (const group of ['Infrastructure', 'Application Security', 'Production Environment', 'Documentation Review', 'Team', 'Testing']) assert.ok(text.includes(group), group);
  assert.ok(text.includes('✅') || text.includes('Git Repository'), 'repaired text');
  assert.ok(!text.includes('‚úÖ'), 'no mojibake');
  assert.deepEqual(app.slack.rejections, []);
});

test('50 users ticking 50 items at once from the same stale message: all 50 kept, plus the original 20', async () => {
  await post(app, 'launch/fifty');
  const stale = elements(app).map((f) => ({ ...f, message: snapshot(f.message) }));
  assert.equal(ticked(app).length, 20);
  const open = stale.flatMap((f) => f.element.options.filter((o) => !(f.element.initial_options ?? []).some((i) => i.value === o.value)).map((o) => ({ f, o })));
  assert.equal(open.length, 50);
  const people = users(50);
  const results = await Promise.all(
    open.map(({ f, o }, i) =>
      app.sim.check(people[i]!, { action_id: f.element.action_id, block_id: f.blockId }, [...(f.element.initial_options ?? []), o], { message: f.message }),
    ),
  );
  assert.ok(results.every((r) => r.status === 200));
  await settle(app);
  await eventually(() => assert.equal(ticked(app).length, 70, 'ticked(app).length is 70'));
  const rows = await app.db.query<{ n: number }>(`select count(*)::int as n from checklist_items where instance_id = 'launch/fifty' and checked`);
  assert.equal(rows[0]!.n, 70);
  const events = await app.db.query<{ n: number; actors: number }>(`select count(*)::int as n, count(distinct actor)::int as actors from checklist_events where instance_id = 'launch/fifty' and action = 'tick'`);
  assert.deepEqual(events[0], { n: 50, actors: 50 });
  // Each tick is attributed in the message, with Slack's date formatting.
  const text = JSON.stringify(app.slack.channelMessages(CHANNEL).map((m) => m.blocks));
  assert.ok(text.includes('<@UUSER049>') && text.includes('<!date^'));
  // Coalesced: far fewer message updates than ticks.
  const updates = app.slack.calls.filter((c) => c.method === 'chat.update').length;
  assert.ok(updates >= 1 && updates < 20, `${updates} chat.update calls for 50 ticks`);

  // An untick from the same stale view removes only that item.
  const first = stale.find((f) => (f.element.initial_options ?? []).length)!;
  const gone = first.element.initial_options![0]!;
  await app.sim.check(bob, { action_id: first.element.action_id, block_id: first.blockId }, first.element.initial_options!.slice(1), { message: first.message });
  await settle(app);
  const after = await app.db.query<{ item_key: string }>(`select item_key from checklist_items where instance_id = 'launch/fifty' and checked`);
  assert.equal(after.length, 69);
  assert.ok(!after.some((r) => r.item_key === keyOf('launch/fifty', gone.value)));
  await eventually(() => assert.equal(ticked(app).length, 69, 'ticked(app).length is 69'));
  assert.deepEqual(app.slack.rejections, []);
});

test('replaying a delivered action changes nothing more', async () => {
  const f = elements(app).find((x) => x.element.options.some((o) => !(x.element.initial_options ?? []).some((i) => i.value === o.value)))!;
  const o = f.element.options.find((opt) => !(f.element.initial_options ?? []).some((i) => i.value === opt.value))!;
  const message = snapshot(f.message);
  const selection = [...(f.element.initial_options ?? []), o];
  const count = async () => (await app.db.query<{ n: number }>(`select count(*)::int as n from checklist_events`))[0]!.n;
  await app.sim.check(alice, { action_id: f.element.action_id, block_id: f.blockId }, selection, { message });
  const once = await count();
  for (let i = 0; i < 3; i++) await app.sim.check(alice, { action_id: f.element.action_id, block_id: f.blockId }, selection, { message });
  assert.equal(await count(), once);
  const row = await app.db.query<{ checked: boolean; checked_by: string }>('select checked, checked_by from checklist_items where item_key = $1 and instance_id = $2', [keyOf('launch/fifty', o.value), 'launch/fifty']);
  assert.deepEqual(row[0], { checked: true, checked_by: 'UALICE' });
});

test('a checklist of 300 items is split into messages within Slack limits, every item present', async () => {
  await post(app, 'launch/huge', alice, 'CHUGE');
  await eventually(() => assert.equal(elements(app, 'CHUGE').flatMap((f) => f.element.options).length, 300, 'elements(app, \'CHUGE\').flatMap((f) => f.element.options).length is 300'));
  const messages = app.slack.channelMessages('CHUGE');
  assert.ok(messages.length >= 2, 'split over messages');
  assert.ok(messages.every((m) => (m.blocks ?? []).length <= 50));
  assert.deepEqual(app.slack.rejections, []);
  const values = elements(app, 'CHUGE').flatMap((f) => f.element.options.map((o) => o.value));
  assert.equal(new Set(values).size, 300);
  // Ticking on the second message updates that message, not the first.
  const second = elements(app, 'CHUGE').find((f) => f.message.ts === messages[1]!.ts)!;
  await app.sim.check(bob, { action_id: second.element.action_id, block_id: second.blockId }, [second.element.options[0]!], { message: snapshot(second.message) });
  await settle(app);
  await eventually(() => assert.equal(ticked(app, 'CHUGE').length, 1, 'ticked(app, \'CHUGE\').length is 1'));
  assert.ok(elements(app, 'CHUGE').find((f) => f.message.ts === messages[1]!.ts)!.element.initial_options?.length === 1);
});

test('unknown checklist, unknown item and bad dates get an ephemeral error with the closest match, and change nothing', async () => {
  const before = (await app.db.query<{ n: number }>('select count(*)::int as n from checklist_events'))[0]!.n;
  const unknown = await app.sim.command('/checklist', 'producton-readiness', alice, CHANNEL);
  assert.match(ephemeralText(unknown), /No checklist `producton-readiness`.*production-readiness/s);
  assert.equal((unknown.body as { response_type?: string }).response_type, 'ephemeral');
  const item = await app.sim.command('/checklist', 'assign production-readiness Reddis persistance @nobody', alice, CHANNEL);
  assert.match(ephemeralText(item), /No item matches `Reddis persistance`.*Redis persistence configured/s);
  const date = await app.sim.command('/checklist', 'due production-readiness "Redis persistence" 2026-02-30', alice, CHANNEL);
  assert.match(ephemeralText(date), /2026-02-30 is not a day on the calendar/);
  const relative = await app.sim.command('/checklist', 'due production-readiness "Redis persistence" launch-24h', alice, CHANNEL);
  assert.match(ephemeralText(relative), /no launch date/);
  const launch = await app.sim.command('/checklist', 'new production-readiness Payments launch 2026-13-01', alice, CHANNEL);
  assert.match(ephemeralText(launch), /not a day on the calendar/);
  const after = (await app.db.query<{ n: number }>('select count(*)::int as n from checklist_events'))[0]!.n;
  assert.equal(after, before);
});

test('instances per launch: owners, due dates relative to launch, overdue stands out, history and audit', async () => {
  const created = await app.sim.command('/checklist', 'new production-readiness "Payments v2" launch 2026-12-01', alice, 'CPAY');
  assert.match(ephemeralText(created), /Created \*Payments v2\* \(`payments-v2`\)/);
  const again = await app.sim.command('/checklist', 'new production-readiness "Payments v2"', alice, 'CPAY');
  assert.match(ephemeralText(again), /exists already/);
  await post(app, 'payments-v2 pre-launch', alice, 'CPAY');
  // Omitting the checklist means the one last posted in the channel.
  const assigned = await app.sim.command('/checklist', 'assign "SSL certificates" <@UBOB|bob>', alice, 'CPAY');
  assert.match(ephemeralText(assigned), /assigned to <@UBOB>/);
  const due = await app.sim.command('/checklist', 'due payments-v2 "Pre-Launch Checklist" launch-24h', alice, 'CPAY');
  assert.match(ephemeralText(due), /22 items/);
  const rows = await app.db.query<{ due_at: Date }>(`select due_at from checklist_items where instance_id = 'payments-v2' and due_at is not null`);
  assert.equal(rows.length, 22);
  assert.equal(new Date(rows[0]!.due_at).toISOString(), '2026-11-30T00:00:00.000Z');
  // Today (2026-11-25 in this session) is before the due time: nothing overdue yet; an item due yesterday is.
  await app.sim.command('/checklist', 'due payments-v2 "DNS records" 2020-01-01', alice, 'CPAY');
  await settle(app);
  const text = await eventually(() => {
    const t = JSON.stringify(app.slack.channelMessages('CPAY').map((m) => m.blocks));
    assert.ok(t.includes('🔴'), 'overdue marked');
    return t;
  });
  assert.ok(text.includes('<@UBOB>'));
  const history = await app.sim.command('/checklist', 'history payments-v2', alice, 'CPAY');
  const h = ephemeralText(history);
  assert.match(h, /assigned/);
  assert.match(h, /due date/);
  assert.match(h, /created/);
  const one = await app.sim.command('/checklist', 'history payments-v2 DNS records', alice, 'CPAY');
  assert.doesNotMatch(ephemeralText(one), /assigned/);
  // `launch` is the date keyword only when a date follows; a third instance of the seed, named "Launch party".
  const party = await app.sim.command('/checklist', 'new production-readiness Launch party launch 2026-12-11', alice, 'CNEW');
  assert.match(ephemeralText(party), /Created \*Launch party\* \(`launch-party`\) from `production-readiness` with 56 items, launching 2026-12-11/);
  const mobile = await app.sim.command('/checklist', 'new production-readiness Mobile launch', alice, 'CNEW');
  assert.match(ephemeralText(mobile), /Created \*Mobile launch\* \(`mobile-launch`\) from `production-readiness` with 56 items\. /);
  const long = await app.sim.command('/checklist', 'new production-readiness The very long release name of the quarterly platform migration programme', alice, 'CNEW');
  // Ids are at most 60 characters, cut between words: not "…platform-migrat".
  assert.match(ephemeralText(long), /\(`the-very-long-release-name-of-the-quarterly-platform`\)/);
});

test('lock: owner — only the ticker or an admin may untick', async () => {
  await post(app, 'launch/locked', alice, 'CLOCK');
  const el = () => elements(app, 'CLOCK').find((f) => f.element.options.some((o) => o.value === itemRef('to-do/open-thing-1')))!;
  const open = el().element.options.find((o) => o.value === itemRef('to-do/open-thing-1'))!;
  await app.sim.check(alice, { action_id: el().element.action_id, block_id: el().blockId }, [...(el().element.initial_options ?? []), open], { message: snapshot(el().message) });
  await settle(app);
  await eventually(() => assert.equal(el().element.initial_options?.length, 1, 'el().element.initial_options?.length is 1'));
  const withoutOpen = (el().element.initial_options ?? []).filter((o) => o.value !== open.value);
  await app.sim.check(bob, { action_id: el().element.action_id, block_id: el().blockId }, withoutOpen, { message: snapshot(el().message) });
  await settle(app);
  const still = await app.db.query<{ checked: boolean }>(`select checked from checklist_items where instance_id = 'launch/locked' and item_key = $1`, ['to-do/open-thing-1']);
  assert.equal(still[0]!.checked, true);
  await eventually(() => assert.ok([...app.slack.messages.values()].some((m) => m.ephemeral && m.user === 'UBOB' && /locked/.test(m.text ?? '')), 'bob is told why'));
  await app.sim.check({ id: 'UADMIN', name: 'admin' }, { action_id: el().element.action_id, block_id: el().blockId }, withoutOpen, { message: snapshot(el().message) });
  await eventually(async () => {
    const gone = await app.db.query<{ checked: boolean }>(`select checked from checklist_items where instance_id = 'launch/locked' and item_key = $1`, ['to-do/open-thing-1']);
    assert.equal(gone[0]!.checked, false, 'the admin unticked it');
  });
});

test('App Home shows my assigned items with working checkboxes and every checklist\'s progress', async () => {
  await app.sim.command('/checklist', 'assign production-readiness "HTTPS enforced" <@UCAROL|carol>', alice, 'CSEED');
  const carol = { id: 'UCAROL', name: 'carol' };
  await app.sim.event({ type: 'app_home_opened', user: carol.id, channel: 'D1', tab: 'home', event_ts: '1' }, 'EvHome1');
  const view = await eventually(() => {
    const v = app.slack.views.get(carol.id) as { blocks: Array<{ type: string; block_id?: string; text?: { text: string }; elements?: Element[] }> } | undefined;
    assert.ok(v, 'carol\'s App Home view published');
    return v;
  });
  const text = JSON.stringify(view.blocks);
  assert.ok(text.includes('HTTPS enforced'));
  assert.ok(text.includes('payments-v2') && text.includes('launch/fifty'), 'every checklist in App Home');
  assert.ok(text.includes('Launch party') && text.includes('launch-party'), 'the third instance of the seed too');
  const block = view.blocks.find((b) => b.type === 'actions')!;
  const element = block.elements![0]!;
  await app.sim.check(carol, { action_id: element.action_id, block_id: block.block_id }, [element.options[0]!], { view: view as unknown as Record<string, unknown> });
  const row = await eventually(async () => {
    const r = await app.db.query<{ checked: boolean; checked_by: string }>(`select checked, checked_by from checklist_items where instance_id = 'production-readiness' and item_key = $1`, [keyOf('production-readiness', element.options[0]!.value)]);
    assert.equal(r[0]!.checked, true, 'carol ticked it from App Home');
    return r[0]!;
  });
  assert.equal(row.checked_by, 'UCAROL');
  const source = await app.db.query<{ source: string }>(`select source from checklist_events where actor = 'UCAROL' and action = 'tick'`);
  assert.equal(source[0]!.source, 'home');
  assert.deepEqual(app.slack.rejections, []);
});

test('/checklist lists every checklist with progress', async () => {
  const res = await app.sim.command('/checklist', '', alice, CHANNEL);
  const text = ephemeralText(res);
  assert.match(text, /production-readiness.*\d+\/56/);
  assert.match(text, /launch\/fifty.*70\/70/);
  assert.match(text, /payments-v2/);
  assert.match(text, /Launch party.*launch-party.*0\/56/);
});

test('an item added to the runbook after the checklist was posted shows up and can be ticked', async () => {
  const { library } = app.preflight.deps;
  const file = library.get('launch/locked')!.file;
  const { readFileSync, writeFileSync } = await import('node:fs');
  writeFileSync(file, `${readFileSync(file, 'utf8')}\n- [ ] Added later\n`);
  library.load();
  library.emit('change', ['launch/locked']);
  const added = await eventually(() => {
    const f = elements(app, 'CLOCK').find((x) => x.element.options.some((o) => o.value === itemRef('to-do/added-later')));
    assert.ok(f, 'the posted message was redrawn with the new item');
    return f;
  });
  const option = added.element.options.find((o) => o.value === itemRef('to-do/added-later'))!;
  await app.sim.check(bob, { action_id: added.element.action_id, block_id: added.blockId }, [...(added.element.initial_options ?? []), option], { message: snapshot(added.message) });
  const row = await app.db.query<{ checked: boolean; checked_by: string }>(`select checked, checked_by from checklist_items where instance_id = 'launch/locked' and item_key = 'to-do/added-later'`);
  assert.deepEqual(row[0], { checked: true, checked_by: 'UBOB' });
});
