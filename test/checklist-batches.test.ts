import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { applyClicks, archiveInstance, ClickBatches, createInstance, type Click } from '../src/checklist/store.ts';
import type { Db } from '../src/db/index.ts';
import { migrate } from '../src/db/migrate.ts';
import { rearmPart } from '../src/jobs/store.ts';
import { parseRunbook } from '../src/runbooks/parse.ts';
import { freshDb } from './support/harness.ts';

// Clicks on one checklist batched into one statement (real database: PGlite, or PostgreSQL with DATABASE_URL):
// each click's result is what it would have been one after another, and clicks that arrive while a statement runs
// go together in the next one.

const RUNBOOK = parseRunbook('batch', 'batch.md', ['---', 'lock: owner', '---', '# Batch', '', '## Items', ...Array.from({ length: 6 }, (_, i) => `- [ ] Item ${i + 1}`)].join('\n'));
const KEYS = RUNBOOK.tasks.map((t) => t.key);
const now = new Date('2026-12-01T09:00:00Z');

let fresh: Awaited<ReturnType<typeof freshDb>>;
let db: Db;
before(async () => {
  fresh = await freshDb();
  db = fresh.db;
  await migrate(db);
});
after(async () => fresh?.drop());

let n = 0;
async function newChecklist(): Promise<string> {
  const id = `batch-${++n}`;
  await createInstance(db, RUNBOOK, { id, name: id, actor: 'UOWNER', source: 'test' }, now);
  return id;
}
const click = (actor: string, c: Partial<Click>): Click => ({ tick: [], untick: [], actor, source: 'test', lockOwner: true, admins: ['UADMIN'], ...c });
const checked = async (id: string) =>
  (await db.query<{ item_key: string; checked_by: string }>('select item_key, checked_by from checklist_items where instance_id = $1 and checked order by item_key', [id])).map((r) => `${r.item_key}:${r.checked_by}`);
const events = async (id: string) =>
  (await db.query<{ e: string }>("select action || ' ' || item_key || ' ' || actor || ' ' || source as e from checklist_events where instance_id = $1 and action in ('tick', 'untick') order by id", [id])).map((r) => r.e);

test('one statement for several clicks gives each the result it would have had one after another', async () => {
  const id = await newChecklist();
  const [a, b, c, d] = KEYS;
  await applyClicks(db, id, [click('UBOB', { tick: [c!] })], now);
  const results = await applyClicks(db, id, [
    click('UALICE', { tick: [a!, b!] }),
    click('UCAROL', { tick: [a!] }), // a second tick of the same item finds it ticked
    click('UALICE', { tick: [a!, b!] }), // a double click
    click('UALICE', { untick: [c!] }), // not hers, lock: owner
    click('UBOB', { untick: [c!] }), // his own
    click('UDAN', { untick: [d!], tick: [] }), // not ticked: nothing
  ], now);
  assert.deepEqual(results.map((r) => [r.ticked, r.unticked, r.refused]), [
    [[a, b], [], []],
    [[], [], []],
    [[], [], []],
    [[], [], [{ key: c, by: 'UBOB' }]],
    [[], [c], []],
    [[], [], []],
  ], 'each click its own result, as in its order');
  assert.deepEqual(await checked(id), [`${a}:UALICE`, `${b}:UALICE`], 'stored: a and b by alice, c unticked');
  assert.deepEqual((await events(id)).sort(), [`tick ${c} UBOB test`, `tick ${a} UALICE test`, `tick ${b} UALICE test`, `untick ${c} UBOB test`].sort(), 'one event per change, with its clicker');
  const admin = await applyClicks(db, id, [click('UALICE', { untick: [b!] }), click('UADMIN', { untick: [a!] })], now);
  assert.deepEqual(admin.map((r) => r.unticked), [[b], [a]], 'her own untick, and an admin\'s of hers');

  await archiveInstance(db, { id, actor: 'UOWNER', source: 'test' }, now);
  const late = await applyClicks(db, id, [click('UBOB', { tick: [d!] }), click('UCAROL', { tick: [a!] })], now);
  assert.deepEqual(late.map((r) => [r.archived, r.ticked]), [[true, []], [true, []]], 'an archived checklist: every click told, nothing ticked');
});

test('clicks that arrive while a statement runs go together in the next one, at most 100 a statement', async () => {
  const id = await newChecklist();
  // The real database, with the first statement held until the others are queued.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let statements = 0;
  const slow: Db = { ...db, query: async (sql, params) => (statements++ === 0 && (await held), db.query(sql, params)) };
  const redraw = (ref: string) => rearmPart({ name: 'redraw', key: `checklist:${ref}`, runAt: now, payload: { ref } });
  const batches = new ClickBatches(slow, () => now, redraw);
  const first = batches.apply(id, click('U0', { tick: [KEYS[0]!] }));
  const rest = Array.from({ length: 150 }, (_, i) => batches.apply(id, click(`U${i + 1}`, { tick: [KEYS[(i % 5) + 1]!] })));
  release();
  const results = await Promise.all([first, ...rest]);
  assert.equal(statements, 3, `1 statement, then 100 clicks, then 50: ${statements}`);
  assert.deepEqual(results[0]!.ticked, [KEYS[0]], 'the first click ran alone');
  assert.deepEqual(results.slice(1, 6).map((r) => r.ticked), KEYS.slice(1).map((k) => [k]), 'the first click on each item ticks it');
  assert.ok(results.slice(6).every((r) => !r.ticked.length && !r.archived), 'later clicks find them ticked');
  assert.equal((await checked(id)).length, 6, 'all six ticked');
  const jobs = await db.query<{ n: number }>("select count(*)::int as n from jobs where name = 'redraw' and key = $1", [`checklist:${id}`]);
  assert.equal(jobs[0]!.n, 1, 'the redraw each statement asks for is one job');
});

test('a failed statement fails only its own clicks; the next ones run, and a click that waited too long is not started', async () => {
  const id = await newChecklist();
  let fail = true;
  const flaky: Db = { ...db, query: async (sql, params) => (fail ? ((fail = false), Promise.reject(new Error('database unavailable: test'))) : db.query(sql, params)) };
  const batches = new ClickBatches(flaky, () => now, (ref) => rearmPart({ name: 'redraw', key: `checklist:${ref}`, runAt: now, payload: { ref } }));
  const [lost, kept] = await Promise.allSettled([batches.apply(id, click('UA', { tick: [KEYS[0]!] })), batches.apply(id, click('UB', { tick: [KEYS[1]!] }))]);
  assert.equal(lost.status, 'rejected', 'the failed statement\'s click is told');
  assert.deepEqual(kept.status === 'fulfilled' && kept.value.ticked, [KEYS[1]], 'the click queued behind it ran in the next statement');
  assert.deepEqual(await checked(id), [`${KEYS[1]}:UB`], 'only that one is stored');
  assert.deepEqual((await batches.apply(id, click('UC', { tick: [KEYS[2]!] }))).ticked, [KEYS[2]], 'and the queue carries on');

  // A statement held past the wait: the click queued behind it is refused, never stored later.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let statements = 0;
  const slow: Db = { ...db, query: async (sql, params) => (statements++ === 0 && (await held), db.query(sql, params)) };
  const patient = new ClickBatches(slow, () => now, (ref) => rearmPart({ name: 'redraw', key: `checklist:${ref}`, runAt: now, payload: { ref } }), 50);
  const ahead = patient.apply(id, click('UD', { tick: [KEYS[3]!] }));
  const behind = patient.apply(id, click('UE', { tick: [KEYS[4]!] }));
  await new Promise((resolve) => setTimeout(resolve, 80));
  release();
  assert.deepEqual((await ahead).ticked, [KEYS[3]], 'the held statement completes');
  await assert.rejects(behind, /waited over 50 ms/, 'the click behind it is told the database did not keep up');
  assert.equal(statements, 1, 'and never started');
  assert.ok(!(await checked(id)).some((k) => k.startsWith(`${KEYS[4]}:`)), 'nor stored');
  assert.deepEqual((await patient.apply(id, click('UF', { tick: [KEYS[5]!] }))).ticked, [KEYS[5]], 'a new click runs');
});
