import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import ical from 'node-ical';
import { renderBlocks } from '../src/console/render.ts';
import { ONCALL_ACTIONS } from '../src/oncall/blocks.ts';
import { history } from '../src/oncall/store.ts';
import { eventually, runbooksDir, startApp, type TestApp } from './support/harness.ts';
import { validateSlack } from './support/validator.ts';

// /oncall end to end: signed commands and clicks over HTTP, a real database, the validating fake Slack.

const ONCALL_YML = `rotations:
  - id: primary
    name: Primary on-call
    timezone: Europe/Berlin
    handoff: { every: week, day: monday, time: "09:00" }
    start: 2026-11-02
    members: [UALICE, UBOB, UCAROL]
    channel: C0ONCALL
    usergroup: S0ONCALL
  - id: empty
    name: Empty rotation
    timezone: UTC
    handoff: { every: day, time: "09:00" }
    start: 2026-01-01
    members: []
  - id: ny
    name: New York daily
    timezone: America/New_York
    handoff: { every: day, time: "02:30" }
    start: 2026-03-01
    members: [UDAN, UERIN]
  - id: dst
    name: Berlin Sundays
    timezone: Europe/Berlin
    handoff: { every: week, day: sunday, time: "02:30" }
    start: 2026-03-01
    members: [UDAN, UERIN]
`;

let clock = new Date('2026-11-04T12:00:00Z');
let app: TestApp;
let dir: string;
const alice = { id: 'UALICE', name: 'alice' };
const bob = { id: 'UBOB', name: 'bob' };
const carol = { id: 'UCAROL', name: 'carol' };
const erin = { id: 'UERIN', name: 'erin' };
const admin = { id: 'UADMIN', name: 'admin' };

before(async () => {
  dir = runbooksDir({ 'oncall.yml': ONCALL_YML, 'a.md': '# A\n\nText.\n' });
  app = await startApp({ runbooks: dir, now: () => clock, pollMs: 0, env: { ADMIN_USERS: 'UADMIN', PUBLIC_URL: 'https://preflight.example.com' } });
});
after(async () => app?.stop());

/** Sends /oncall and returns the acknowledgement's text (blocks joined), checked against Slack's schemas. */
async function oncall(text: string, user = alice): Promise<string> {
  const res = await app.sim.command('/oncall', text, user, 'C0TEAM');
  assert.equal(res.status, 200, `/oncall ${text} answered`);
  const body = res.body as { text?: string; blocks?: Array<{ text?: { text: string }; elements?: Array<{ text?: string }> }>; response_type?: string };
  assert.equal(body.response_type, 'ephemeral', 'answers are ephemeral');
  if (body.blocks) assert.deepEqual(validateSlack('blocks', body.blocks, 'ack'), [], `valid blocks for /oncall ${text}`);
  return (body.blocks ?? []).map((b) => b.text?.text ?? (b.elements ?? []).map((e) => e.text ?? '').join(' ')).join('\n') || body.text || '';
}

const firstMention = (text: string) => /<@([UW][A-Z0-9]+)/.exec(text)?.[1];

test('/oncall: now and next for every rotation, times as Slack dates, "nobody" for an empty rotation', async () => {
  const text = await oncall('');
  assert.match(text, /\*Primary on-call\*: <@UALICE> until <!date\^1794211200\^/, 'alice until Mon 9 Nov 09:00 Berlin (08:00Z)');
  assert.match(text, /next: <@UBOB> from <!date\^1794211200\^/);
  assert.match(text, /\*Empty rotation\*: nobody/);
  assert.doesNotMatch(text, /<!channel>|<!here>/);
  const drawn = renderBlocks([{ type: 'section', text: { type: 'mrkdwn', text } }]).text;
  assert.match(drawn, /Primary on-call.*@UALICE until 2026-11-09 08:00 UTC/, 'the console draws the same answer as text');
  assert.deepEqual(app.slack.rejections, []);
});

test('/oncall at: the first mention is whoever is on call then; plain times read in the rotation zone, ISO with offsets as given', async () => {
  assert.equal(firstMention(await oncall('at 2026-11-09 08:59:59 primary')), 'UALICE', 'a second before the handoff');
  assert.equal(firstMention(await oncall('at 2026-11-09 09:00 primary')), 'UBOB', 'at the handoff');
  assert.equal(firstMention(await oncall('at 2026-11-09T07:59:59Z primary')), 'UALICE');
  assert.equal(firstMention(await oncall('at 2026-11-09T09:00+01:00 primary')), 'UBOB');
  // 02:30 on 8 March does not exist in New York: the handoff is at 03:00 EDT (07:00Z).
  assert.equal(firstMention(await oncall('at 2026-03-08T06:59:59Z ny')), 'UDAN', 'before the moved handoff');
  assert.equal(firstMention(await oncall('at 2026-03-08 03:00 ny')), 'UERIN', 'the first instant after the gap');
  const empty = await oncall('at 2026-11-04 12:00 empty');
  assert.equal(firstMention(empty), undefined, 'nobody is mentioned');
  assert.match(empty, /^nobody is on call for \*Empty rotation\*/);
  assert.match(await oncall('at 2026-11-01 12:00 primary'), /^nobody/, 'before the start: nobody');
  assert.match(await oncall('at tomorrow primary'), /is not a date and time/);
  assert.match(await oncall('at 2026-02-30 10:00 primary'), /is not a date and time/);
});

test('/oncall schedule, help and unknown words answer clearly within Slack limits', async () => {
  const schedule = await oncall('schedule primary 3');
  assert.match(schedule, /<@UALICE>[\s\S]*<@UBOB>[\s\S]*<@UCAROL>/, 'three weeks, in member order');
  const help = await oncall('help');
  assert.match(help, /&lt;date time&gt;/, 'placeholders escaped');
  assert.doesNotMatch(help, /<date|<from>|<to>/);
  assert.match(await oncall('schedule primary 99'), /Weeks must be a whole number/);
  assert.match(await oncall('frobnicate'), /I do not know `frobnicate`/);
  assert.match(await oncall('schedule nosuch'), /No rotation `nosuch`/);
  const long = await oncall('schedule ny 26');
  assert.match(long, /more shifts not shown|<@UDAN>/);
  assert.deepEqual(app.slack.rejections, []);
});

test('override: refused for someone not involved (nothing changes); the covered person and admins may; retries are one row', async () => {
  const before = (await history(app.db, 'primary')).length;
  const refused = await oncall('override <@UCAROL|carol> 2026-11-05 10:00 2026-11-05 18:00 primary', erin);
  assert.match(refused, /Only the people involved .*<@UCAROL>.*<@UALICE>.* or an admin/);
  assert.equal((await history(app.db, 'primary')).length, before, 'nothing stored');
  assert.equal(firstMention(await oncall('at 2026-11-05 12:00 primary')), 'UALICE', 'the rotation is unchanged');

  assert.match(await oncall('override <@UCAROL|carol> 2026-11-05 10:00 2026-11-05 18:00 primary', alice), /✅ <@UCAROL> is on call/);
  assert.match(await oncall('override <@UCAROL|carol> 2026-11-05 10:00 2026-11-05 18:00 primary', alice), /Already set/);
  assert.equal((await history(app.db, 'primary')).length, before + 1, 'a retry is the same override');
  assert.equal(firstMention(await oncall('at 2026-11-05 09:59 primary')), 'UALICE', 'before the window');
  assert.equal(firstMention(await oncall('at 2026-11-05 10:00 primary')), 'UCAROL', 'inside the window');
  assert.equal(firstMention(await oncall('at 2026-11-05 18:00 primary')), 'UALICE', 'after the window');
  assert.equal(firstMention(await oncall('at 2026-11-09 09:00 primary')), 'UBOB', 'the next handoff has not moved');

  // A bare user id, and an admin who is not on the rotation.
  assert.match(await oncall('override UERIN 2026-11-06 10:00 2026-11-06 12:00 primary', admin), /✅ <@UERIN>/);
  assert.match(await oncall('override <@UERIN> 2026-11-07 10:00 2026-11-06 12:00 primary', admin), /must end after it starts/);
  assert.match(await oncall('override bob 2026-11-07 10:00 2026-11-07 12:00 primary', admin), /Who\?/);
  const hist = await oncall('history primary');
  assert.match(hist, /<@UALICE> set <@UCAROL> on call/);
  assert.match(hist, /<@UADMIN> set <@UERIN> on call/);
});

test('swap: the other person accepts with a button, only they can, a double click counts once; declines change nothing', async () => {
  const asked = await oncall('swap <@UBOB|bob> 2026-11-24 primary', alice);
  assert.match(asked, /Asked <@UBOB> to take your \*Primary on-call\* shift/);
  const request = await eventually(() => {
    const m = [...app.slack.messages.values()].find((x) => x.channel === 'UBOB' && JSON.stringify(x.blocks).includes(ONCALL_ACTIONS.swapAccept));
    assert.ok(m, 'bob got the request with buttons');
    return m;
  });
  const blocks = request.blocks as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>;
  const accept = blocks.find((b) => b.type === 'actions')!.elements!.find((e) => e.action_id === ONCALL_ACTIONS.swapAccept)!;
  await app.sim.press(carol, accept, { message: request });
  await eventually(() => assert.ok([...app.slack.messages.values()].some((m) => m.user === 'UCAROL' && /Only <@UBOB> can answer/.test(m.text ?? '')), 'carol is told only bob can answer'));
  assert.equal(firstMention(await oncall('at 2026-11-25 12:00 primary')), 'UALICE', 'nothing changed yet');

  await Promise.all([app.sim.press(bob, accept, { message: request }), app.sim.press(bob, accept, { message: request })]);
  await eventually(() => assert.match(JSON.stringify(request.blocks), /Accepted/, 'the request shows it was accepted'));
  assert.equal(firstMention(await oncall('at 2026-11-25 12:00 primary')), 'UBOB', 'bob has the shift');
  assert.equal(firstMention(await oncall('at 2026-11-30 09:00 primary')), 'UBOB', 'the following shift is bob\'s by rotation anyway');
  assert.equal(firstMention(await oncall('at 2026-11-23 08:59 primary')), 'UCAROL', 'the shift before is untouched');
  const swaps = (await history(app.db, 'primary')).filter((e) => e.kind === 'swap');
  assert.equal(swaps.length, 1, 'one swap');
  assert.equal(swaps[0]!.kind === 'swap' && swaps[0]!.swap.state, 'accepted');
  await eventually(() => assert.ok([...app.slack.messages.values()].some((m) => m.channel === 'UALICE' && /Accepted/.test(JSON.stringify(m.blocks))), 'alice hears the answer'));

  // Not your shift: refused; a decline leaves the rotation as it is.
  assert.match(await oncall('swap <@UALICE> 2026-11-10 primary', carol), /You have no shift/);
  await oncall('swap <@UALICE> 2026-11-17 primary', carol);
  const second = await eventually(() => {
    const m = [...app.slack.messages.values()].find((x) => x.channel === 'UALICE' && JSON.stringify(x.blocks).includes(ONCALL_ACTIONS.swapDecline));
    assert.ok(m, 'alice got carol\'s request');
    return m;
  });
  const decline = (second.blocks as typeof blocks).find((b) => b.type === 'actions')!.elements!.find((e) => e.action_id === ONCALL_ACTIONS.swapDecline)!;
  await app.sim.press(alice, decline, { message: second });
  await eventually(() => assert.match(JSON.stringify(second.blocks), /Declined/, 'declined'));
  assert.equal(firstMention(await oncall('at 2026-11-18 12:00 primary')), 'UCAROL', 'a declined swap changes nothing');
  assert.match(await oncall('history primary'), /swap declined: <@UCAROL> → <@UALICE>/);
  assert.deepEqual(app.slack.rejections, []);
});

test('calendar: the URL works with its token; wrong, missing or unknown gives 404; node-ical reads the DST weeks', async () => {
  const text = await oncall('calendar dst');
  const url = /`(https:\/\/preflight\.example\.com\/oncall\/dst\.ics\?token=[\w-]+)`/.exec(text)?.[1];
  assert.ok(url, `a calendar URL in ${text}`);
  const local = url.replace('https://preflight.example.com', app.url);
  const token = new URL(local).searchParams.get('token')!;
  const missing = await fetch(local.replace(/\?.*/, ''));
  // The last character changed to another one (a token may already end in x).
  const wrong = await fetch(local.replace(token, `${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}`));
  const unknown = await fetch(local.replace('/dst.ics', '/nosuch.ics'));
  const otherRotation = await fetch(local.replace('/dst.ics', '/primary.ics'));
  for (const [name, res] of [['missing', missing], ['wrong', wrong], ['unknown', unknown], ['another rotation\'s', otherRotation]] as const) {
    assert.equal(res.status, 404, `${name} token: 404`);
    assert.equal(await res.text(), 'Not found', `${name}: nothing revealed`);
  }

  clock = new Date('2026-03-15T12:00:00Z');
  try {
    const res = await fetch(local);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/calendar/);
    const events = Object.values(ical.sync.parseICS(await res.text())).filter((e): e is ical.VEvent => e?.type === 'VEVENT');
    const byStart = new Map(events.map((e) => [new Date(e.start).toISOString(), e]));
    // Sunday 02:30 in Berlin: 22 Mar is CET (01:30Z), 29 Mar is inside the gap (03:00 CEST, 01:00Z), 5 Apr CEST (00:30Z).
    const spring = byStart.get('2026-03-29T01:00:00.000Z');
    assert.ok(spring, `a shift starts at the moved handoff; starts: ${[...byStart.keys()].join(', ')}`);
    assert.equal(new Date(spring.end!).toISOString(), '2026-04-05T00:30:00.000Z', 'and ends a wall-clock week later');
    const before = byStart.get('2026-03-22T01:30:00.000Z');
    assert.ok(before, 'the week before starts at 02:30 CET');
    assert.equal(new Date(before.end!).toISOString(), '2026-03-29T01:00:00.000Z', 'the DST week is 6 days 23.5 hours and meets the next exactly');
    assert.match(String(spring.summary), /UDAN on call \(Berlin Sundays\)/, 'the summary names who is on call (members[4 mod 2])');
    const sorted = events.map((e) => [new Date(e.start).getTime(), new Date(e.end!).getTime()] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 0; i + 1 < sorted.length; i++) assert.equal(sorted[i]![1], sorted[i + 1]![0], 'events tile: no gap, no overlap');
  } finally {
    clock = new Date('2026-11-04T12:00:00Z');
  }
});

test('App Home shows who is on call and the user\'s next shift; deps.onCall names the on-call person', async () => {
  await app.sim.event({ type: 'app_home_opened', user: 'UCAROL', channel: 'D0HOME', tab: 'home', event_ts: String(Date.now() / 1000) }, `EvHome${Date.now()}`);
  const view = await eventually(() => {
    const v = app.slack.views.get('UCAROL');
    assert.ok(v, 'home published');
    return JSON.stringify(v);
  });
  assert.match(view, /On call/);
  assert.match(view, /Primary on-call\*: <@UALICE>/);
  assert.match(view, /Your next shift: \*Primary on-call\*/);
  const onCall = await app.preflight.deps.onCall!(clock);
  assert.deepEqual(onCall.find((r) => r.rotationId === 'primary'), { rotationId: 'primary', rotationName: 'Primary on-call', userId: 'UALICE' });
  assert.equal(onCall.some((r) => r.rotationId === 'empty'), false, 'an empty rotation has nobody');
  assert.deepEqual(app.slack.rejections, []);
});

test('a bad oncall.yml at run time keeps the last good rotations; a good one replaces them', async () => {
  writeFileSync(join(dir, 'oncall.yml'), 'rotations:\n  - id: primary\n    timezone: Mars/Olympus\n');
  await new Promise((r) => setTimeout(r, 400));
  assert.match(await oncall(''), /Primary on-call\*: <@UALICE>/, 'still the last good rotations');
  writeFileSync(join(dir, 'oncall.yml'), ONCALL_YML.replace('name: Primary on-call', 'name: Primary renamed'));
  await eventually(async () => assert.match(await oncall(''), /Primary renamed\*: <@UALICE>/, 'reloaded'), 5000);
});
