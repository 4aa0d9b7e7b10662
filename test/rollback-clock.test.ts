import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDb, type Db } from '../src/db/index.ts';
import { getJob } from '../src/jobs/store.ts';
import { ROLLBACK_ACTIONS } from '../src/rollback/blocks.ts';
import { alice, freshDb, startApp, TEST_PG_URL, type TestApp } from './support/harness.ts';
import { freshSchema } from './support/pg.ts';
import { button, runIdOf, runMessages, seedDir, startRun } from './support/rollback.ts';

// The run's clock with an injected time: phase warnings, past-all-budgets and the post-mortem reminder are
// jobs of the one scheduler, posted exactly once across restarts and instances. Scheduler polling is off
// (pollMs 0): each step runs the due work itself with deps.jobs.runDue().

const T0 = new Date('2026-12-01T10:00:00Z');
const minutes = (m: number) => new Date(T0.getTime() + m * 60_000);

/** Thread lines posted through any of these fake Slacks that match. */
function posted(apps: TestApp[], pattern: RegExp): string[] {
  return apps.flatMap((a) => a.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.body.thread_ts && pattern.test(String(c.body.text))).map((c) => String(c.body.text)));
}

/** Slack keeps its messages while Preflight restarts: the new instance's fake Slack gets them. */
function carryMessages(from: TestApp, to: TestApp): void {
  for (const [k, m] of from.slack.messages) to.slack.messages.set(k, structuredClone(m));
}

const OVER_1 = /Immediate Actions\* is past its budget/;
const OVER_2 = /Database Rollback\* is past its budget/;

test('a phase over budget gets exactly one warning, also across a restart; a finished phase none; past all budgets and the 24-hour reminder once', async () => {
  let clock = T0;
  const now = () => clock;
  const fresh = await freshDb();
  const apps: TestApp[] = [];
  try {
    const first = await startApp({ runbooks: seedDir(), db: fresh.db, now, pollMs: 0 });
    apps.push(first);
    const run = await startRun(first, alice, { reason: 'clock' });
    const runId = runIdOf(run);
    await first.preflight.deps.jobs.runDue();
    await first.sim.press(alice, button(run.blocks, `${ROLLBACK_ACTIONS.done}:immediate-actions/stop-the-application`), { message: run });

    clock = minutes(4);
    await first.preflight.deps.jobs.runDue();
    assert.deepEqual(posted(apps, OVER_1), [], 'no warning before the budget runs out');

    clock = minutes(6);
    await first.preflight.deps.jobs.runDue();
    await first.preflight.deps.jobs.runDue();
    const warned = posted(apps, OVER_1);
    assert.equal(warned.length, 1, `one warning: ${warned}`);
    assert.match(warned[0]!, /^⏰ <@UALICE>: \*Immediate Actions\* is past its budget \(< 5 min\), 1 step\(s\) still open\.$/, 'mentions the run\'s owner');

    // Phase 1 and phase 2 finished before phase 2's time (20 min): its job finds nothing to say.
    clock = minutes(10);
    for (const key of ['immediate-actions/roll-back-to-previous-version', 'database-rollback/only-if-schema-changes-were-made', 'database-rollback/if-needed-restore-from-backup']) {
      await first.sim.press(alice, button(run.blocks, `${ROLLBACK_ACTIONS.done}:${key}`), { message: run });
    }
    await first.preflight.deps.jobs.runDue();

    // Restart: a new instance on the same database.
    await first.stop();
    const second = await startApp({ runbooks: seedDir(), db: fresh.db, now, pollMs: 0 });
    apps.push(second);
    carryMessages(first, second);
    await second.preflight.deps.jobs.runDue();
    assert.equal(posted(apps, OVER_1).length, 1, 'the restart repeats no warning');

    clock = minutes(21);
    await second.preflight.deps.jobs.runDue();
    assert.deepEqual(posted(apps, OVER_2), [], 'a finished phase gets no warning');
    assert.equal((await getJob(fresh.db, 'rollback.overrun', `${runId}:database-rollback`))?.state, 'done', 'its job ran and stood down');
    assert.equal(posted(apps, /still open past all its budgets/).length, 1, 'past all budgets: said once (lost by no restart)');
    clock = minutes(22);
    await second.preflight.deps.jobs.runDue();
    // The redraw waits out its wall-clock interval (rate limit), whatever the test clock says.
    await second.preflight.deps.redraws.settled();
    const message = second.slack.messages.get(`${run.channel}:${run.ts}`);
    // Drawn when its redraw ran: at minute 21 if the redraw's wall-clock wait (150 ms) ran out before the test
    // clock moved on (a loaded machine), else at 22. Either way the message says it.
    assert.match(JSON.stringify(message?.blocks), /Open past all budgets\*: 2[12]m 00s since the start, the plan's budgets add up to 20 min/, 'the run message says so');

    clock = minutes(24 * 60 + 1);
    await second.preflight.deps.jobs.runDue();
    await second.preflight.deps.jobs.runDue();
    const reminded = posted(apps, /reminder, \*Post-mortem within 24 hours\* is still open/);
    assert.equal(reminded.length, 1, `one reminder: ${reminded}`);
    assert.equal(posted(apps, OVER_1).length, 1, 'still exactly one phase warning in all');
    assert.deepEqual(apps.flatMap((a) => a.slack.rejections), [], 'every message valid');
  } finally {
    for (const a of apps.slice(1)) await a.stop();
    await fresh.drop();
  }
});

/** Two Preflight instances on one database, each with its own scheduler (on PostgreSQL each with its own pool). */
async function twoInstances(kind: 'postgres' | 'pglite'): Promise<void> {
  let clock = T0;
  const now = () => clock;
  const embedded = kind === 'pglite' ? await openDb({}) : undefined;
  const fresh = embedded ? { db: embedded, drop: () => embedded.close() } : await freshSchema(TEST_PG_URL);
  const other: Db = kind === 'postgres' ? await openDb({ url: TEST_PG_URL, schema: (fresh as { schema: string }).schema }) : fresh.db;
  const a = await startApp({ runbooks: seedDir(), db: fresh.db, now, pollMs: 0 });
  const b = await startApp({ runbooks: seedDir(), db: other, now, pollMs: 0 });
  try {
    const run = await startRun(a, alice, { reason: 'two instances' });
    const drill = await startRun(a, alice, { verb: 'rehearse', reason: 'drill', channel: 'CDRILL' });
    carryMessages(a, b);
    clock = minutes(6);
    await Promise.all([a.preflight.deps.jobs.runDue(), b.preflight.deps.jobs.runDue(), a.preflight.deps.jobs.runDue(), b.preflight.deps.jobs.runDue()]);
    await Promise.all([a.preflight.deps.jobs.idle(), b.preflight.deps.jobs.idle()]);
    const warned = posted([a, b], OVER_1);
    assert.equal(warned.length, 2, `one warning per run across both instances: ${warned}`);
    const drillWarning = warned.find((w) => w.startsWith('🧪 DRILL'));
    assert.ok(drillWarning && !drillWarning.includes('<@'), `a drill warning pages nobody: ${drillWarning}`);
    assert.ok(warned.some((w) => w.startsWith('⏰ <@UALICE>')), 'the real run mentions its owner');

    // The run is aborted before its last budget: its pending jobs are cancelled and nothing more is posted.
    assert.match(JSON.stringify((await a.sim.command('/rollback', `abort #${runIdOf(run)} fixed forward`, alice)).body), /Run #\d+ aborted/, 'aborted by its starter');
    clock = minutes(30);
    await Promise.all([a.preflight.deps.jobs.runDue(), b.preflight.deps.jobs.runDue()]);
    assert.equal((await getJob(fresh.db, 'rollback.overdue', `${runIdOf(run)}:all`))?.state, 'cancelled', 'past-all-budgets job cancelled with the run');
    assert.equal(posted([a, b], OVER_2).filter((w) => !w.startsWith('🧪')).length, 0, 'no warning for an aborted run');
    assert.equal(posted([a, b], OVER_2).length, 1, 'the drill, still open, gets its one phase 2 warning');
    assert.ok(runMessages(a, 'CDRILL').length === 1 && drill.ts, 'drill posted once');
    assert.deepEqual([...a.slack.rejections, ...b.slack.rejections], [], 'every message valid');
  } finally {
    await b.stop();
    await a.stop();
    if (kind === 'postgres') await other.close();
    await fresh.drop();
  }
}

test('two instances on one PostgreSQL post each warning once', () => twoInstances('postgres'));

test('two instances sharing one embedded database post each warning once', () => twoInstances('pglite'));
