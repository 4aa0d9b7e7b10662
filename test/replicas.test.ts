import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { itemRef } from '../src/checklist/domain.ts';
import type { FakeMessage } from '../src/console/fakeSlack.ts';
import type { SendResult, SlackSimulator, SlackUser } from '../src/console/simulator.ts';
import { runbooksDir } from './support/harness.ts';
import { startReplicas, type Replicas } from './support/replicas.ts';

// Issue 12: three instances on one database, one of them reaching Slack 1.5 s late. Every posted message must
// end showing every change, and chat.update stays about one a second per message for the whole deployment.

const INSTANCES = 3;
const DELAY_MS = 1500;
const USERS: SlackUser[] = Array.from({ length: 5 }, (_, i) => ({ id: `UREPL${i}`, name: `replica-user-${i}` }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 18 sections of 2 items: 36 items, two messages per posted copy. */
function launchRunbook(): string {
  const lines = ['# Replicated launch'];
  for (let s = 1; s <= 18; s++) lines.push('', `## Area ${s}`, `- [ ] First check of area ${s}`, `- [ ] Second check of area ${s}`);
  return lines.join('\n');
}

interface Option {
  value: string;
  text: { type: string; text: string };
}
interface Checkboxes {
  type: string;
  action_id: string;
  options: Option[];
  initial_options?: Option[];
}

/** The checkboxes elements of a message, with their block ids. */
function checkboxesOf(m: FakeMessage): Array<{ blockId: string; element: Checkboxes }> {
  return ((m.blocks ?? []) as Array<{ type: string; block_id?: string; elements?: Checkboxes[] }>)
    .filter((b) => b.type === 'actions')
    .flatMap((b) => (b.elements ?? []).filter((e) => e.type === 'checkboxes').map((element) => ({ blockId: b.block_id!, element })));
}

/**
 * A kind of message updated in place, as the deployment test drives it. Checklists are the first; the
 * rollback run message (/rollback, on deps.redraws too) is meant to be added as a second entry of KINDS.
 */
interface Kind {
  name: string;
  /** Makes and posts a fresh one for `round` (through the given instance); what the round then changes. */
  setup(r: Replicas, round: number): Promise<Round>;
}

interface Round {
  /** The posted messages (channel and ts) whose final content is checked. */
  messages: Array<{ channel: string; ts: string }>;
  changes: number;
  /** Sends change i through sim, as a user clicking on the message as Slack currently shows it. */
  change(i: number, sim: SlackSimulator, user: SlackUser): Promise<SendResult>;
  /** What is wrong with a message's final content (empty when it shows every change). */
  problems(m: FakeMessage): Promise<string[]>;
}

async function postChecklist(r: Replicas, via: number, id: string, channel: string): Promise<Array<{ channel: string; ts: string }>> {
  const before = r.slack.channelMessages(channel).length;
  const res = await r.replicas[via]!.sim.command('/checklist', id, USERS[0]!, channel);
  assert.equal(res.status, 200, `/checklist ${id} answered`);
  for (let i = 0; i < 400 && r.slack.channelMessages(channel).length < before + 2; i++) await sleep(25);
  const posted = r.slack.channelMessages(channel).slice(before);
  assert.equal(posted.length, 2, `two pages posted in ${channel}: ${JSON.stringify(res.body)}`);
  return posted.map((m) => ({ channel: m.channel, ts: m.ts }));
}

const checklists: Kind = {
  name: 'checklist',
  async setup(r, round) {
    const id = `launch-round-${round}`;
    const made = await r.replicas[round % INSTANCES]!.sim.command('/checklist', `new launch "Launch round ${round}"`, USERS[0]!, 'CSETUP');
    assert.ok(JSON.stringify(made.body).includes('Created'), `created ${id}: ${JSON.stringify(made.body)}`);
    // Two copies, posted through two different instances: both must converge.
    const messages = [...(await postChecklist(r, (round + 1) % INSTANCES, id, `CROUND${round}A`)), ...(await postChecklist(r, (round + 2) % INSTANCES, id, `CROUND${round}B`))];
    const items = messages.flatMap((m) => checkboxesOf(r.slack.messages.get(`${m.channel}:${m.ts}`)!).flatMap((c) => c.element.options.map((o) => o.value)));
    const refs = [...new Set(items)];
    assert.equal(refs.length, 36, 'all 36 items on the pages of one copy');
    return {
      messages,
      changes: refs.length,
      async change(i, sim, user) {
        // Alternate between the two copies; click the element as that copy shows now (possibly stale).
        const copy = messages.filter((m) => m.channel.endsWith(i % 2 ? 'B' : 'A'));
        for (const m of copy) {
          const message = r.slack.messages.get(`${m.channel}:${m.ts}`)!;
          const hit = checkboxesOf(message).find((c) => c.element.options.some((o) => o.value === refs[i]));
          if (!hit) continue;
          const option = hit.element.options.find((o) => o.value === refs[i])!;
          const shown = hit.element.initial_options ?? [];
          return sim.check(user, { action_id: hit.element.action_id, block_id: hit.blockId }, [...shown.filter((o) => o.value !== option.value), option], { message: structuredClone(message) });
        }
        throw new Error(`item ${refs[i]} not on any page`);
      },
      async problems(m) {
        const rows = await r.db.query<{ item_key: string }>('select item_key from checklist_items where instance_id = $1 and checked', [id]);
        const checked = new Set(rows.map((x) => itemRef(x.item_key)));
        const out: string[] = [];
        if (checked.size !== 36) out.push(`database has ${checked.size} of 36 ticked`);
        for (const { element } of checkboxesOf(m)) {
          const shown = new Set((element.initial_options ?? []).map((o) => o.value));
          for (const o of element.options) if (checked.has(o.value) !== shown.has(o.value)) out.push(`${o.value} shown ${shown.has(o.value) ? 'ticked' : 'open'}, is ${checked.has(o.value) ? 'ticked' : 'open'}`);
        }
        if (!JSON.stringify(m.blocks).includes('*36/36* done')) out.push('summary does not say 36/36');
        return out;
      },
    };
  },
};

const KINDS: Kind[] = [checklists];

let r: Replicas;
before(async () => {
  // The first chat.update calls are answered 429 (Retry-After: 1): the redraw backs off and still converges.
  r = await startReplicas({ n: INSTANCES, runbooks: runbooksDir({ 'launch.md': launchRunbook() }), slack: { rateLimit: { 'chat.update': 3 } } });
});
after(async () => {
  await r?.stop();
});

/**
 * A burst of `ms` with the delay on instance `slow`: every change goes through the instances in turn, and
 * ends with every message showing every change, within about one chat.update a second per message.
 */
async function burst(kind: Kind, round: number, slow: number, ms: number): Promise<void> {
  for (const [i, replica] of r.replicas.entries()) replica.proxy.delayMs = i === slow ? DELAY_MS : 0;
  const t = await kind.setup(r, round);
  const since = Date.now();
  const sent: Array<Promise<SendResult>> = [];
  for (let i = 0; i < t.changes; i++) {
    sent.push(t.change(i, r.replicas[i % INSTANCES]!.sim, USERS[i % USERS.length]!));
    await sleep(ms / t.changes);
  }
  const answers = await Promise.all(sent);
  assert.deepEqual(answers.map((a) => a.status).filter((s) => s !== 200), [], 'every click acknowledged');
  await r.settled();

  for (const m of t.messages) {
    const message = r.slack.messages.get(`${m.channel}:${m.ts}`);
    assert.ok(message, `${kind.name} message ${m.channel} ${m.ts} still there`);
    assert.deepEqual(await t.problems(message), [], `${kind.name} round ${round} (slow instance ${slow}): ${m.channel} ${m.ts} shows every change`);
  }

  // Every chat.update Slack received for these messages, from all instances, in the order received.
  const keys = new Set(t.messages.map((m) => `${m.channel}:${m.ts}`));
  const updates = r.replicas.flatMap((x) => x.proxy.calls).filter((c) => c.method === 'chat.update' && c.at >= since);
  for (const key of keys) {
    const times = updates.filter((c) => { const b = new URLSearchParams(c.body); return `${b.get('channel')}:${b.get('ts')}` === key; }).map((c) => c.at).sort((a, b) => a - b);
    assert.ok(times.length >= 1, `${key} was updated at least once`);
    const span = (times.at(-1)! - times[0]!) / 1000;
    assert.ok(times.length <= Math.floor(span) + 1, `${key}: ${times.length} chat.update calls over ${span.toFixed(1)} s, more than one a second`);
    const gaps = times.slice(1).map((at, i) => at - times[i]!);
    // Each redraw starts a second after the previous one was answered; a millisecond of clock rounding allowed.
    assert.ok(gaps.every((g) => g >= 998), `${key}: two updates less than a second apart: gaps ${gaps.join(', ')} ms`);
  }
  assert.deepEqual(r.slack.rejections, [], 'Slack accepted every message');
}

for (const kind of KINDS) {
  test(`${kind.name}: a 10 s burst of changes through three instances, one 1.5 s late to Slack, ends right at about one chat.update a second per message`, async () => {
    await burst(kind, 0, 0, 10_000);
    const limited = r.replicas.flatMap((x) => x.proxy.calls).filter((c) => c.method === 'chat.update' && c.status === 429);
    assert.equal(limited.length, 3, 'the first three chat.update calls were rate limited, and the redraws still converged');
  });

  test(`${kind.name}: the same with the delay on each other instance in turn`, async () => {
    await burst(kind, 1, 1, 4000);
    await burst(kind, 2, 2, 4000);
  });
}

test('a deleted message is forgotten by whichever instance redraws it; the other copy still converges', async () => {
  for (const x of r.replicas) x.proxy.delayMs = 0;
  const t = await checklists.setup(r, 4);
  const gone = t.messages[0]!;
  r.slack.messages.delete(`${gone.channel}:${gone.ts}`);
  // Click on the other copy (channel B) through each instance.
  const answers = [];
  for (let i = 1; i < 6; i += 2) answers.push(await t.change(i, r.replicas[i % INSTANCES]!.sim, USERS[0]!));
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200], 'acknowledged');
  await r.settled();
  const left = await r.db.query<{ ts: string }>("select ts from checklist_messages where instance_id = 'launch-round-4' order by ts");
  assert.deepEqual(left.map((x) => x.ts), t.messages.slice(1).map((m) => m.ts).sort(), 'the deleted message is no longer updated');
  const job = await r.db.query<{ state: string }>("select state from jobs where name = 'redraw' and key = 'checklist:launch-round-4'");
  assert.equal(job[0]?.state, 'done', 'the redraw finished rather than failing on the missing message');
  const shown = t.messages.slice(2).flatMap((m) => checkboxesOf(r.slack.messages.get(`${m.channel}:${m.ts}`)!).flatMap((c) => (c.element.initial_options ?? []).map((o) => o.value)));
  assert.equal(shown.length, 3, `the remaining copy shows the three ticks: ${shown.length}`);
});

test('a stopping instance hands its pending redraws to the others instead of finishing them alone', async () => {
  for (const [i, x] of r.replicas.entries()) x.proxy.delayMs = i === 2 ? DELAY_MS : 0;
  const t = await checklists.setup(r, 3);
  // Changes through instance 2 (slow to Slack), which is then stopped at once.
  const answers = [];
  for (let i = 0; i < 6; i++) answers.push(await t.change(i, r.replicas[2]!.sim, USERS[i % USERS.length]!));
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200], 'acknowledged');
  const leaving = r.replicas.pop()!;
  await leaving.preflight.stop();
  const stoppedAt = Date.now();
  const left = await r.db.query<{ state: string }>("select state from jobs where name = 'redraw' and key = 'checklist:launch-round-3'");
  assert.ok(['pending', 'running'].includes(left[0]?.state ?? ''), `the redraw is still to do when the instance has stopped: ${left[0]?.state}`);
  await leaving.proxy.stop();
  await r.settled();
  const rows = await r.db.query<{ n: number }>("select count(*)::int as n from checklist_items where instance_id = 'launch-round-3' and checked");
  assert.equal(rows[0]!.n, 6, 'six ticks stored');
  const shown = t.messages.flatMap((m) => checkboxesOf(r.slack.messages.get(`${m.channel}:${m.ts}`)!).flatMap((c) => (c.element.initial_options ?? []).map((o) => o.value)));
  assert.equal(shown.length, 12, `both copies show the six ticks (6 × 2 copies), shown: ${shown.length}`);
  const byOthers = r.replicas.flatMap((x) => x.proxy.calls).filter((c) => c.method === 'chat.update' && c.at >= stoppedAt);
  assert.ok(byOthers.length >= 1, 'the remaining instances drew the final state');
  assert.deepEqual(r.slack.rejections, [], 'Slack accepted every message');
});
