import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FakeMessage } from '../src/console/fakeSlack.ts';
import { sign } from '../src/console/simulator.ts';
import { RUNBOOK_ACTIONS } from '../src/runbooks/blocks.ts';
import { alice, blockText, bob, eventually, runbooksDir, SEED, SIGNING_SECRET, startApp, type TestApp } from './support/harness.ts';
import { validateSlack } from './support/validator.ts';

// The real Bolt HTTP receiver, signed requests over HTTP, a real database and a validating fake Slack.

const STEPS = 120;
const longRunbook = [
  '# Long Runbook',
  '',
  ...Array.from({ length: STEPS }, (_, i) => [
    `## Step ${i + 1}`,
    '',
    `Do the thing number ${i + 1} carefully, then check the dashboard before you go on to the next step of this procedure.`,
    '',
    '```bash',
    `kubectl rollout restart deployment/service-${i + 1}`,
    `echo "step ${i + 1} done"`,
    '```',
    '',
  ]).flat(),
].join('\n');

const ESCAPES = '# Escapes\n\n## Warning\n\nHey @channel <!channel> <@U123> & <script>alert(1)</script> done\n';

let app: TestApp;
/** /runbook commands that reached the app (for the metrics check). */
let commandsSent = 0;

before(async () => {
  const dir = runbooksDir({
    'production-readiness.md': '',
    'escape.md': ESCAPES,
    'db/restore.md': '# Restore the Database\n\n## Steps\n\nRun pg_restore from the nightly backup.\n',
    'ops/long.md': longRunbook,
  });
  // The seed as given: mis-decoded (UTF-8 read as Mac Roman); Preflight repairs it on load.
  cpSync(SEED, join(dir, 'production-readiness.md'));
  app = await startApp({ runbooks: dir });
});

after(async () => {
  await app?.stop();
});

interface Reply {
  response_type?: string;
  text?: string;
  blocks?: Array<Record<string, any>>;
}

async function runbook(text: string, user = alice): Promise<Reply> {
  const res = await app.sim.command('/runbook', text, user);
  commandsSent++;
  assert.equal(res.status, 200, `/runbook ${text} → HTTP ${res.status}`);
  assert.ok(res.body && typeof res.body === 'object', `/runbook ${text} acknowledged with a JSON body`);
  const reply = res.body as Reply;
  assert.ok(Array.isArray(reply.blocks), 'with blocks');
  assert.deepEqual(validateSlack('blocks', reply.blocks, 'ack'), [], `/runbook ${text}: Slack would accept the blocks`);
  return reply;
}

/** Lines that sit inside ``` fences in mrkdwn. */
function fencedLines(mrkdwn: string): string[] {
  const out: string[] = [];
  let inside = false;
  for (const line of mrkdwn.split('\n')) {
    if (line.trim().startsWith('```')) {
      inside = !inside;
      continue;
    }
    if (inside) out.push(line);
  }
  return out;
}

function sectionTexts(reply: Reply): string[] {
  return (reply.blocks ?? []).filter((b) => b.type === 'section').map((b) => String(b.text?.text ?? ''));
}

/** An interactive element as the app sent it (loosely typed: tests read what they need). */
type Element = { action_id: string; value?: string; block_id?: string; [key: string]: any };

function elements(blocks: unknown[] | undefined): Element[] {
  return (blocks ?? []).flatMap((b) => {
    const block = b as Record<string, any>;
    return [...(block.type === 'actions' ? block.elements : []), ...(block.accessory ? [block.accessory] : [])];
  });
}

function contextText(blocks: unknown[] | undefined): string {
  const first = (blocks ?? []).find((b) => (b as Record<string, any>).type === 'context') as Record<string, any> | undefined;
  return (first?.elements ?? []).map((e: { text?: string }) => e.text ?? '').join(' ');
}

async function processedEvents(): Promise<number> {
  const rows = await app.db.query<{ n: number }>('select count(*)::int as n from processed_events');
  return rows[0]!.n;
}

/** A raw POST to the events endpoint with whatever headers a test wants (forged or stale). */
async function rawPost(body: string, contentType: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(`${app.url}/slack/events`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
  await res.text();
  return res.status;
}

test('unsigned, wrongly signed and 6-minute-old requests get 401 and change nothing', async () => {
  const callsBefore = app.slack.calls.length;
  const eventsBefore = await processedEvents();
  const metricsBefore = await (await fetch(`${app.url}/metrics`)).text();
  const now = Math.floor(Date.now() / 1000);
  const command = new URLSearchParams({ command: '/runbook', text: 'production-readiness', user_id: alice.id, channel_id: 'C1', response_url: app.slack.responseUrl(alice.id, 'C1') }).toString();
  const event = (id: string) => JSON.stringify({ type: 'event_callback', team_id: 'T0PREFLIGHT', event_id: id, event_time: now, event: { type: 'app_home_opened', user: alice.id, channel: 'D1', tab: 'home' } });
  const form = 'application/x-www-form-urlencoded';

  for (const [body, type] of [[command, form], [event('EvForged1'), 'application/json']] as const) {
    assert.equal(await rawPost(body, type, {}), 401, 'unsigned');
    assert.equal(await rawPost(body, type, { 'x-slack-request-timestamp': String(now), 'x-slack-signature': sign('not-the-secret-at-all', now, body) }), 401, 'wrong secret');
    assert.equal(await rawPost(body, type, { 'x-slack-request-timestamp': String(now), 'x-slack-signature': sign(SIGNING_SECRET, now, `${body}&x=1`) }), 401, 'signature of another body');
    const old = now - 6 * 60;
    assert.equal(await rawPost(body, type, { 'x-slack-request-timestamp': String(old), 'x-slack-signature': sign(SIGNING_SECRET, old, body) }), 401, 'six minutes old, correctly signed');
  }
  // The simulator's own stale request too (same path the real tests use).
  const stale = await app.sim.post({ command: '/runbook', text: '', user_id: alice.id }, {}, now - 6 * 60);
  assert.equal(stale.status, 401);

  // Nothing reached a listener: no Web API call, no event claimed, no request counted.
  assert.deepEqual(app.slack.calls.slice(callsBefore).map((c) => c.method), []);
  assert.equal(app.slack.messages.size, 0, JSON.stringify([...app.slack.messages.values()]).slice(0, 500));
  assert.equal(await processedEvents(), eventsBefore);
  const metricsAfter = await (await fetch(`${app.url}/metrics`)).text();
  assert.equal(metricsAfter.replace(/process_resident_memory_bytes \d+/, ''), metricsBefore.replace(/process_resident_memory_bytes \d+/, ''));

  // The same command correctly signed and fresh is answered: the 401s were about the signature only.
  const signed = await app.sim.post(Object.fromEntries(new URLSearchParams(command)));
  commandsSent++;
  assert.equal(signed.status, 200);
});

test('/runbook lists every runbook grouped by folder, with titles', async () => {
  const reply = await runbook('');
  assert.equal(reply.response_type, 'ephemeral');
  const groups = sectionTexts(reply);
  const group = (folder: string) => groups.find((g) => g.startsWith(`*📁 ${folder}*`));
  assert.match(group('db') ?? '', /`db\/restore` — Restore the Database/);
  assert.match(group('ops') ?? '', /`ops\/long` — Long Runbook/);
  // The top level is headed by the runbooks folder's own name (RUNBOOKS_DIR).
  const top = group(basename(app.preflight.deps.library.dir)) ?? '';
  assert.match(top, /`production-readiness` — Production Readiness Checklist/);
  assert.match(top, /`escape` — Escapes/);
  assert.doesNotMatch(top, /db\/restore|ops\/long/, 'folder runbooks are listed under their folder only');
  assert.match(contextText(reply.blocks), /4 runbooks/);
});

test('/runbook production-readiness shows the repaired seed within Slack limits', async () => {
  const reply = await runbook('production-readiness');
  const text = blockText(reply.blocks);
  assert.match(contextText(reply.blocks), /Production Readiness Checklist/);
  assert.ok(text.includes('✅ Phase 1 - COMPLETED'), 'emoji repaired');
  assert.ok(text.includes('✅'));
  assert.ok(!/‚úÖ|üöÄ|‚è≥/.test(text), 'no mojibake left');
  assert.ok((reply.blocks ?? []).some((b) => b.type === 'header' && b.text.type === 'plain_text' && b.text.text.includes('Phase 1')));
  assert.ok(reply.text && reply.text.length > 0, 'a fallback text for notifications');
});

test('/runbook production-readiness rollback shows the Rollback Plan with its bash lines intact in fences', async () => {
  const reply = await runbook('production-readiness rollback');
  assert.match(contextText(reply.blocks), /Rollback Plan/);
  assert.ok((reply.blocks ?? []).some((b) => b.type === 'header' && b.text.text === '🆘 Rollback Plan'));
  const fenced = sectionTexts(reply).flatMap(fencedLines);
  for (const line of ['docker-compose down api', 'git checkout &lt;previous-commit&gt;', 'docker-compose up -d --build api', 'make migrate-down  # Rollback one migration', 'pg_restore -h localhost -U postgres -d hamsaya /backups/latest.sql']) {
    assert.ok(fenced.includes(line), `fenced line present exactly: ${line}\n--- fenced:\n${fenced.join('\n')}`);
  }
  // Only the rollback section: nothing from other sections.
  assert.ok(!blockText(reply.blocks).includes('Security Checklist'));
});

test('a unique prefix, the title, and the title followed by a section all resolve the runbook', async () => {
  for (const query of ['prod', 'Production Readiness Checklist', 'production readiness checklist', 'PRODUCTION-READINESS']) {
    const reply = await runbook(query);
    assert.match(contextText(reply.blocks), /`production-readiness`/, query);
    assert.doesNotMatch(contextText(reply.blocks), /§/, `${query}: the whole runbook, not a section`);
  }
  const section = await runbook('Production Readiness Checklist rollback');
  assert.match(contextText(section.blocks), /`production-readiness`.*§ \d+ 🆘 Rollback Plan/);
  const nested = await runbook('restore');
  assert.match(contextText(nested.blocks), /`db\/restore`/, 'a file name inside a folder resolves');
});

test('an unknown runbook gets an ephemeral reply with the closest matches', async () => {
  const reply = await runbook('nosuch');
  assert.equal(reply.response_type, 'ephemeral');
  // Nothing is near enough to be a typo: no guesses, and where to look.
  assert.match(sectionTexts(reply)[0] ?? '', /No runbook matches `nosuch`\.\n`\/runbook` lists them all\./);
  const typo = await runbook('producton-readines');
  assert.match(sectionTexts(typo)[0] ?? '', /Did you mean:\n• `production-readiness`/, 'the nearest name comes first');
});

test('an unknown section gets the closest sections', async () => {
  const reply = await runbook('production-readiness nosuchsection');
  assert.equal(reply.response_type, 'ephemeral');
  assert.match(sectionTexts(reply)[0] ?? '', /No section of `production-readiness` matches `nosuchsection`\.\n`\/runbook production-readiness` lists its sections by number\./);
  const typo = await runbook('production-readiness rolback plan');
  assert.match(sectionTexts(typo)[0] ?? '', /🆘 Rollback Plan/);
});

test('/runbook search backup finds sections by full-text search, each with an Open button that opens it', async () => {
  const reply = await runbook('search backup');
  const hits = (reply.blocks ?? []).filter((b) => b.type === 'section');
  assert.ok(hits.length >= 2, `several hits: ${hits.length}`);
  assert.ok(hits.some((h) => /Backup Strategy/.test(h.text.text) && h.text.text.includes('`production-readiness`')), 'the Backup Strategy section is found');
  assert.ok(hits.some((h) => h.text.text.includes('`db/restore`')), 'a runbook in a folder is found too');
  assert.ok(hits.some((h) => /\*backups?\*/i.test(h.text.text)), 'matches are highlighted');
  for (const hit of hits) {
    assert.equal(hit.accessory?.type, 'button');
    assert.equal(hit.accessory.action_id, RUNBOOK_ACTIONS.open);
    assert.equal(hit.accessory.text.text, 'Open');
  }
  assert.ok(!blockText(reply.blocks).includes('Long Runbook'), 'sections without the word are not hits');

  // Open the Backup Strategy hit: its section arrives as a new ephemeral message, the results stay.
  const results = showAsMessage(reply);
  const open = hits.find((h) => /Backup Strategy/.test(h.text.text))!.accessory;
  const before = app.slack.messages.size;
  await app.sim.press(alice, open, { message: results });
  const opened = await eventually(() => {
    const m = [...app.slack.messages.values()].find((x) => x !== results && contextText(x.blocks).includes('Backup Strategy'));
    assert.ok(m, 'the section was posted');
    return m;
  });
  assert.equal(app.slack.messages.size, before + 1);
  assert.ok(opened.ephemeral);
  assert.ok(fencedLines(blockText(opened.blocks)).some((l) => l.includes('/usr/local/bin/pg_dump -h localhost -U postgres hamsaya')));
  assert.match(contextText(results.blocks), /match _backup_/, 'the results message is unchanged');
});

test('runbook text cannot ping anyone: @channel, <!channel>, <@U123> and <script> are escaped', async () => {
  const reply = await runbook('escape');
  const json = JSON.stringify(reply);
  assert.ok(!json.includes('<!channel>'), 'no <!channel>');
  assert.ok(!json.includes('<@U123>'), 'no <@U123>');
  assert.ok(!json.includes('<script>'), 'no raw <script>');
  assert.ok(!/(^|[^\u200b])@channel/.test(blockText(reply.blocks)), 'no live @channel');
  const text = blockText(reply.blocks);
  assert.ok(text.includes('@\u200bchannel'), 'written @channel is defused with a zero-width space');
  assert.ok(text.includes('&lt;!channel&gt; &lt;@U123&gt; &amp; &lt;script&gt;'), 'the characters still show as written');
});

/** Shows an acknowledgement body as Slack would (a message tied to a response_url), as the console does. */
function showAsMessage(reply: Reply, user = alice, channel = 'C0CONSOLE'): FakeMessage {
  const responseUrl = app.slack.responseUrl(user.id, channel);
  app.slack.reply(responseUrl, channel, user.id, reply as Record<string, unknown>);
  const message = [...app.slack.messages.values()].find((m) => m.responseUrl === responseUrl);
  assert.ok(message);
  return message;
}

function pageOf(message: FakeMessage): { page: number; of: number } {
  const m = /page (\d+) of (\d+)/.exec(contextText(message.blocks));
  assert.ok(m, `a page marker in: ${contextText(message.blocks)}`);
  return { page: Number(m[1]), of: Number(m[2]) };
}

test('a long runbook is paged: Next replaces the message with page 2, the menu jumps, and every step is on some page', async () => {
  const reply = await runbook('ops/long');
  const message = showAsMessage(reply);
  const { of } = pageOf(message);
  assert.equal(pageOf(message).page, 1);
  assert.ok(of >= 2, `${of} pages`);
  const next = elements(message.blocks).find((e) => e.action_id === RUNBOOK_ACTIONS.next);
  assert.ok(next, 'page 1 has a Next button');
  assert.match(next.text.text, /Next/);
  assert.ok(!elements(message.blocks).some((e) => e.action_id === RUNBOOK_ACTIONS.prev), 'no Previous on page 1');
  const firstPage = blockText(message.blocks);

  const res = await app.sim.press(alice, next, { message });
  assert.equal(res.status, 200);
  await eventually(() => assert.equal(pageOf(message).page, 2, 'pageOf(message).page is 2'));
  assert.equal(app.slack.messages.size, [...app.slack.messages.values()].length);
  assert.deepEqual(validateSlack('blocks', message.blocks, 'respond'), []);
  assert.notEqual(blockText(message.blocks), firstPage);
  assert.ok(elements(message.blocks).some((e) => e.action_id === RUNBOOK_ACTIONS.prev), 'page 2 has Previous');

  // The menu jumps straight to the last page.
  const jump = elements(message.blocks).find((e) => e.action_id === RUNBOOK_ACTIONS.jump);
  assert.ok(jump, 'a jump menu');
  assert.equal(jump.options.length, of);
  await app.sim.select(alice, jump, jump.options[of - 1], { message });
  await eventually(() => assert.equal(pageOf(message).page, of, 'on the last page'));
  assert.ok(!elements(message.blocks).some((e) => e.action_id === RUNBOOK_ACTIONS.next), 'no Next on the last page');
  assert.match(blockText(message.blocks), new RegExp(`Step ${STEPS}\\b`));

  // Walk from page 1 to the end with Next: every step's code, whole, on exactly one page.
  const again = showAsMessage(await runbook('ops/long'));
  const seen: string[] = [];
  for (let page = 1; ; page++) {
    assert.equal(pageOf(again).page, page);
    assert.deepEqual(validateSlack('blocks', again.blocks, 'respond'), []);
    seen.push(...fencedLines(blockText(again.blocks)));
    const n = elements(again.blocks).find((e) => e.action_id === RUNBOOK_ACTIONS.next);
    if (!n) break;
    await app.sim.press(bob, n, { message: again });
    await eventually(() => assert.equal(pageOf(again).page, page + 1, 'pageOf(again).page is page + 1'));
  }
  for (let i = 1; i <= STEPS; i++) {
    assert.equal(seen.filter((l) => l === `kubectl rollout restart deployment/service-${i}`).length, 1, `step ${i} command once`);
  }
  assert.deepEqual(app.slack.rejections, []);
});

test('GET /healthz answers 200 with the database up and runbooks loaded', async () => {
  const res = await fetch(`${app.url}/healthz`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { database: true, runbooks: true, runbookCount: 4 });
});

test('GET /metrics is Prometheus text counting /runbook commands', async () => {
  assert.ok(commandsSent > 5);
  await eventually(async () => {
    const res = await fetch(`${app.url}/metrics`);
    assert.equal(res.status, 200, 'res.status is 200');
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/, 'res.headers.get(\'content-type\') ?? \'\' matches /^text\\/plain/');
    const text = await res.text();
    const m = /^preflight_requests_total\{handler="command:\/runbook"\} (\d+)$/m.exec(text);
    assert.ok(m, text);
    assert.equal(Number(m[1]), commandsSent, 'Number(m[1]) is commandsSent');
    assert.match(text, /^# TYPE preflight_requests_total counter$/m, 'text matches /^# TYPE preflight_requests_total counter$/m');
    assert.match(text, /^preflight_request_duration_seconds_bucket\{handler="command:\/runbook",le="\+Inf"\} \d+$/m, 'text matches /^preflight_request_duration_seconds_bucket\\{handler="command:\\/runbook",l…');
    assert.match(text, /^preflight_requests_total\{handler="action:runbook:page"\} \d+$/m, 'actions are labelled by capability:verb');
  });
});

test('a retried event delivery (same event_id, x-slack-retry-num) is handled once', async () => {
  const event = { type: 'app_home_opened', user: bob.id, channel: 'D0HOME', tab: 'home', event_ts: String(Date.now() / 1000) };
  const publishes = () => app.slack.calls.filter((c) => c.method === 'views.publish' && c.body.user_id === bob.id).length;
  const first = await app.sim.event(event, 'EvRETRY1');
  assert.equal(first.status, 200);
  await eventually(() => assert.equal(publishes(), 1, 'publishes() is 1'));
  const retry = await app.sim.event(event, 'EvRETRY1', 1);
  assert.equal(retry.status, 200, 'the retry is acknowledged so Slack stops retrying');
  const rows = await app.db.query<{ n: number }>("select count(*)::int as n from processed_events where event_id = 'EvRETRY1'");
  assert.equal(rows[0]!.n, 1);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(publishes(), 1, 'the Home tab was not published twice');
  // A different event id is a different event and is handled.
  assert.equal((await app.sim.event(event, 'EvRETRY2')).status, 200);
  await eventually(() => assert.equal(publishes(), 2, 'publishes() is 2'));
});

test('a Slack 429 on chat.postMessage is retried by the Web API client, not fatal', async () => {
  // Its own database: a second app re-indexes search for its own runbooks only.
  const other = await startApp({ runbooks: runbooksDir({ 'a.md': '# A\n\ntext\n' }), rateLimit: { 'chat.postMessage': 1 } });
  try {
    const started = Date.now();
    const res = await other.preflight.server.app.client.chat.postMessage({ channel: 'C1', text: 'after a 429' });
    assert.equal(res.ok, true);
    const posts = other.slack.calls.filter((c) => c.method === 'chat.postMessage');
    assert.equal(posts.length, 2, 'one 429, then one success');
    assert.ok(Date.now() - started >= 900, 'waited for Retry-After: 1');
    assert.equal(other.slack.channelMessages('C1').length, 1);
    assert.equal(other.slack.channelMessages('C1')[0]!.text, 'after a 429');
  } finally {
    await other.stop();
  }
});

test('every message and view the app sent was one Slack would accept', () => {
  assert.deepEqual(app.slack.rejections, []);
});

