import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FakeMessage } from '../src/console/fakeSlack.ts';
import type { Selection } from '../src/console/simulator.ts';
import { CHECKLIST_ACTIONS } from '../src/checklist/blocks.ts';
import { alice, bob, corpusDir, eventually, startApp, type TestApp } from './support/harness.ts';
import { validateSlack } from './support/validator.ts';

// Issue 11 points 6 and 10: one way to show dates (Slack's date formatting, the team's time zone for plain
// dates), and archiving a checklist made by mistake.

const NOW = new Date('2026-11-25T12:00:00Z');
let app: TestApp;

before(async () => {
  app = await startApp({ runbooks: corpusDir(), now: () => NOW, env: { TEAM_TIMEZONE: 'Europe/Berlin', ADMIN_USERS: 'UADMIN' } });
});

after(async () => {
  await app?.stop();
});

type Body = { text?: string; response_type?: string; blocks?: Array<Record<string, any>> };

async function checklist(text: string, user = alice, channel = 'CDATES'): Promise<string> {
  const res = await app.sim.command('/checklist', text, user, channel);
  assert.equal(res.status, 200, `/checklist ${text}: HTTP ${res.status}`);
  const body = (res.body ?? {}) as Body;
  if (body.blocks) assert.deepEqual(validateSlack('blocks', body.blocks, 'ack'), [], `/checklist ${text}: Slack accepts it`);
  return [body.text ?? '', ...(body.blocks ?? []).map((b) => b.text?.text ?? '')].join('\n');
}

const epoch = (iso: string) => Math.floor(new Date(iso).getTime() / 1000);
/** Text with every Slack date token taken out: what is left must hold no times of its own. */
const withoutDates = (text: string) => text.replace(/<!date\^[^>]*>/g, '');

async function dueAt(instance: string, words: string): Promise<string> {
  const rows = await app.db.query<{ due_at: Date }>(
    `select i.due_at from checklist_items i where i.instance_id = $1 and i.item_key like $2`,
    [instance, `%${words}%`],
  );
  assert.equal(rows.length, 1, `one item ${words}`);
  return new Date(rows[0]!.due_at).toISOString();
}

test('due dates: Slack date formatting everywhere, plain dates end in the team time zone, the typed rule is no label', async () => {
  assert.match(await checklist('new production-readiness "Mobile app" launch 2026-12-10'), /Created/);
  const posted = app.slack.channelMessages('CDATES').length;
  await checklist('mobile-app infrastructure');
  await eventually(() => assert.ok(app.slack.channelMessages('CDATES').length > posted, 'the checklist is posted'));

  const plain = await checklist('due mobile-app "Redis persistence" 2026-12-05');
  // The end of 5 December in Berlin is 22:59:59 UTC.
  assert.equal(await dueAt('mobile-app', 'redis-persistence'), '2026-12-05T22:59:59.000Z');
  assert.ok(plain.includes(`<!date^${epoch('2026-12-05T22:59:59Z')}^`), `the confirmation uses Slack's date formatting:\n${plain}`);
  assert.match(plain, /the end of that day, Europe\/Berlin/, 'says what a plain date means');
  assert.doesNotMatch(withoutDates(plain), /\d{4}-\d{2}-\d{2}T|\d{2}:\d{2}/, `no raw timestamps:\n${plain}`);

  const relative = await checklist('due mobile-app "MinIO backups" +3d');
  assert.equal(await dueAt('mobile-app', 'minio-backups'), '2026-11-28T12:00:00.000Z');
  assert.match(relative, /counted from now/);
  const launch = await checklist('due mobile-app "SSL certificates" launch-24h');
  // The launch day starts at midnight in Berlin (23:00 UTC the day before); 24 hours before that.
  assert.equal(await dueAt('mobile-app', 'ssl-certificates'), '2026-12-08T23:00:00.000Z');
  assert.match(launch, /counted from the start of the launch day/);

  const drawn = await eventually(() => {
    const text = JSON.stringify(app.slack.channelMessages('CDATES').map((m) => m.blocks));
    assert.ok(text.includes(`<!date^${epoch('2026-11-28T12:00:00Z')}^`), 'the redrawn checklist shows the +3d due time as a Slack date');
    return text;
  });
  assert.ok(!drawn.includes('(+3d)') && !drawn.includes('launch-24h'), 'the typed rule is not a label');
  assert.doesNotMatch(withoutDates(drawn), /\d{2}:\d{2}|\d{4}-\d{2}-\d{2}T/, 'every time in the checklist is a Slack date');

  const history = await checklist('history mobile-app');
  assert.ok(history.includes(`<!date^${epoch('2026-12-05T22:59:59Z')}^`), 'history shows due dates as Slack dates');
  assert.doesNotMatch(withoutDates(history), /\d{4}-\d{2}-\d{2}T/, `no ISO times in the history:\n${history}`);
  assert.match(await checklist('help'), /the end of that day in the team's time zone/);
  assert.deepEqual(app.slack.rejections, [], 'Slack accepted everything');
});

/** The Archive (or Keep) button of an archive confirmation, pressed by user. */
async function press(reply: Body, actionId: string, user = alice): Promise<FakeMessage> {
  const button = (reply.blocks ?? []).flatMap((b) => (b.type === 'actions' ? b.elements : [])).find((e: { action_id: string }) => e.action_id === actionId);
  assert.ok(button, `the reply has ${actionId}`);
  const shown: FakeMessage = { channel: 'CARCH', ts: `${Date.now() / 1000}`, blocks: reply.blocks, ephemeral: true, user: user.id };
  app.slack.messages.set(`${shown.channel}:${shown.ts}`, shown);
  const res = await app.sim.press(user, button, { message: shown });
  assert.equal(res.status, 200, 'the click is acknowledged');
  return shown;
}

test('/checklist archive: its creator or an admin, with a confirm button; hidden from lists and Home, history kept', async () => {
  assert.match(await checklist('new production-readiness "Oops typo"', alice, 'CARCH'), /Created/);
  await checklist('due oops-typo "Redis persistence" +1d', alice, 'CARCH');
  assert.match(await checklist('', alice, 'CARCH'), /oops-typo/, 'listed before');
  // Posted before it is archived: a click on this message afterwards must change nothing.
  await app.sim.command('/checklist', 'oops-typo', alice, 'CARCHPOSTED');
  const posted = await eventually(() => {
    const found = app.slack.channelMessages('CARCHPOSTED').flatMap((message) =>
      ((message.blocks ?? []) as Array<{ type: string; block_id?: string; elements?: Array<{ type: string; action_id: string; options: Selection[]; initial_options?: Selection[] }> }>)
        .filter((b) => b.type === 'actions')
        .flatMap((b) => (b.elements ?? []).filter((e) => e.type === 'checkboxes').map((element) => ({ message, blockId: b.block_id!, element }))),
    );
    // An element with an item still open (the seed's first ones are all ticked in the file).
    const open = found.find((f) => f.element.options.some((o) => !(f.element.initial_options ?? []).some((i) => i.value === o.value)));
    assert.ok(open, 'the checklist is posted, with open items');
    return open;
  });

  const refused = await checklist('archive oops-typo', bob, 'CARCH');
  assert.match(refused, /Only whoever created `oops-typo` \(<@UALICE>\) or an admin/, refused);
  const adminAsk = await app.sim.command('/checklist', 'archive production-readiness', { id: 'UADMIN', name: 'admin' }, 'CARCH');
  assert.match(JSON.stringify(adminAsk.body), /Archive/, 'an admin may archive a runbook\'s own checklist');

  const ask = (await app.sim.command('/checklist', 'archive oops-typo', alice, 'CARCH')).body as Body;
  assert.equal(ask.response_type, 'ephemeral');
  assert.deepEqual(validateSlack('blocks', ask.blocks, 'ack'), [], 'Slack accepts the confirmation');
  assert.match(JSON.stringify(ask.blocks), /"confirm":\{/, 'the button asks Slack to confirm');
  assert.match(await checklist('', alice, 'CARCH'), /oops-typo/, 'asking changes nothing');

  const kept = await press(ask, CHECKLIST_ACTIONS.archiveCancel);
  await eventually(() => assert.match(kept.text ?? '', /Kept `oops-typo`/, 'Keep it keeps it'));
  assert.match(await checklist('', alice, 'CARCH'), /oops-typo/, 'still listed');

  // Bob presses a copy of the button (a forwarded payload): refused on the click too.
  await press(ask, CHECKLIST_ACTIONS.archiveConfirm, bob);
  await eventually(() => assert.ok([...app.slack.messages.values()].some((m) => m.user === bob.id && /Only whoever created/.test(m.text ?? '')), 'bob is refused on the click'));
  const still = await app.db.query<{ archived_at: Date | null }>(`select archived_at from checklist_instances where id = 'oops-typo'`);
  assert.equal(still[0]!.archived_at, null, 'not archived by bob');

  const done = await press(ask, CHECKLIST_ACTIONS.archiveConfirm);
  await eventually(() => assert.match(done.text ?? '', /Archived \*Oops typo\*/, 'archived'));
  const twice = await press(ask, CHECKLIST_ACTIONS.archiveConfirm);
  await eventually(() => assert.match(twice.text ?? '', /Already archived/, 'a second click changes nothing'));
  const events = await app.db.query<{ n: number }>(`select count(*)::int as n from checklist_events where instance_id = 'oops-typo' and action = 'archive'`);
  assert.equal(events[0]!.n, 1, 'archived once');

  assert.doesNotMatch(await checklist('', alice, 'CARCH'), /oops-typo/, 'gone from the list');
  await app.sim.event({ type: 'app_home_opened', user: alice.id, channel: 'D0HOME', tab: 'home', event_ts: '1' }, 'EvArchiveHome');
  const home = await eventually(() => {
    const view = app.slack.views.get(alice.id);
    assert.ok(view, 'Home is published');
    return JSON.stringify(view);
  });
  assert.ok(!home.includes('oops-typo'), 'gone from App Home');
  assert.match(await checklist('oops-typo', alice, 'CARCH'), /was archived/, 'posting it says it is archived');
  const before = await app.db.query<{ n: number }>(`select count(*)::int as n from checklist_items where instance_id = 'oops-typo' and checked`);
  const open = posted.element.options.find((o) => !(posted.element.initial_options ?? []).some((i) => i.value === o.value))!;
  const click = await app.sim.check(bob, { action_id: posted.element.action_id, block_id: posted.blockId }, [...(posted.element.initial_options ?? []), open], { message: posted.message });
  assert.equal(click.status, 200, 'the click on the old message is acknowledged');
  await eventually(() => assert.ok([...app.slack.messages.values()].some((m) => m.ephemeral && m.user === bob.id && /Oops typo\* is archived: its items can no longer be ticked/.test(m.text ?? '')), 'the clicker is told it is archived'));
  const after = await app.db.query<{ n: number }>(`select count(*)::int as n from checklist_items where instance_id = 'oops-typo' and checked`);
  assert.equal(after[0]!.n, before[0]!.n, 'nothing was ticked');
  const ticks = await app.db.query<{ n: number }>(`select count(*)::int as n from checklist_events where instance_id = 'oops-typo' and action = 'tick'`);
  assert.equal(ticks[0]!.n, 0, 'no tick recorded in its history');
  const history = await checklist('history oops-typo', alice, 'CARCH');
  assert.match(history, /archived/);
  assert.match(history, /due date/, 'the history is kept');
  assert.match(await checklist('history production-readiness', alice, 'CARCH'), /History/, 'other checklists are untouched');
  assert.deepEqual(app.slack.rejections, [], 'Slack accepted everything');
});

test('a click Slack would never send (a null option) is acknowledged and changes nothing', async () => {
  await app.sim.command('/checklist', 'production-readiness', alice, 'CMALFORMED');
  const message = await eventually(() => {
    const m = app.slack.channelMessages('CMALFORMED').find((x) => JSON.stringify(x.blocks).includes('checkboxes'));
    assert.ok(m, 'the checklist is posted');
    return m;
  });
  const block = ((message.blocks ?? []) as Array<{ type: string; block_id?: string; elements?: Array<{ type: string; action_id: string }> }>).find((b) => b.type === 'actions' && b.elements?.some((e) => e.type === 'checkboxes'))!;
  const element = block.elements!.find((e) => e.type === 'checkboxes')!;
  const before = await app.db.query<{ n: number }>(`select count(*)::int as n from checklist_events`);
  const res = await app.sim.action(alice, { type: 'checkboxes', block_id: block.block_id, action_id: element.action_id, selected_options: [null] }, { message });
  assert.equal(res.status, 200, 'acknowledged, not left to time out');
  const after = await app.db.query<{ n: number }>(`select count(*)::int as n from checklist_events`);
  assert.equal(after[0]!.n, before[0]!.n, 'nothing recorded: an unreadable option does not read as unticked');
  await eventually(() => assert.ok([...app.slack.messages.values()].some((m) => m.ephemeral && m.user === alice.id && /could not be read, so nothing was changed/.test(m.text ?? '')), 'the clicker is told'));
});
