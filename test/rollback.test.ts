import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { SlackUser } from '../src/console/simulator.ts';
import { readPart } from '../src/db/db.ts';
import { ROLLBACK_ACTIONS } from '../src/rollback/blocks.ts';
import { alice, bob, eventually, startApp, type TestApp } from './support/harness.ts';
import { asEphemeral, button, buttons, CHANNEL, command, modalAfter, runIdOf, runMessages, seedDir, startRun, thread } from './support/rollback.ts';
import { validateSlack } from './support/validator.ts';

// /rollback end to end: the real Bolt receiver over signed HTTP, a real database, a validating fake Slack.

const carol: SlackUser = { id: 'UCAROL', name: 'carol' };
const mallory: SlackUser = { id: 'UMALLORY', name: 'mallory' };
const STOP = 'immediate-actions/stop-the-application';

let app: TestApp;
before(async () => {
  app = await startApp({ runbooks: seedDir(), env: { ADMIN_USERS: carol.id } });
});
after(async () => {
  assert.deepEqual(app?.slack.rejections, [], 'every message and view Slack got was valid');
  await app?.stop();
});

const textOf = (blocks: unknown) => JSON.stringify(blocks);
const stepCount = async (runId: number, action: string, key?: string) =>
  Number((await app.db.query<{ n: string }>('select count(*) as n from rollback_events where run_id = $1 and action = $2 and ($3::text is null or step_key = $3)', [runId, action, key ?? null]))[0]!.n);

test('/rollback on the seed shows all three phases with budgets, all 7 steps and every command line, within limits', async () => {
  const body = await command(app, '', alice);
  assert.deepEqual(validateSlack('blocks', body.blocks, 'ack'), [], 'the reply validates');
  const shown = textOf(body.blocks);
  for (const phase of ['1. Immediate Actions*  ⏱ < 5 min', '2. Database Rollback*  ⏱ < 15 min', '3. Communication*  ⏱ no budget']) assert.ok(shown.includes(phase), `phase shown: ${phase}`);
  for (const step of ['Stop the application', 'Roll back to previous version', 'Only if schema changes were made', 'If needed, restore from backup', 'Update status page', 'Send notification to users (if applicable)', 'Post-mortem within 24 hours']) {
    assert.ok(shown.includes(step), `step shown: ${step}`);
  }
  for (const line of ['docker-compose down api', 'git checkout &lt;previous-commit&gt;', 'docker-compose up -d --build api', 'make migrate-down  # Rollback one migration', 'pg_restore -h localhost -U postgres -d hamsaya /backups/latest.sql']) {
    assert.ok(shown.includes(`${line}\\n`) || shown.includes(`${line}\``), `command line shown whole: ${line}`);
  }
  assert.equal((shown.match(/_\(conditional\)_/g) ?? []).length, 2, 'two conditional steps marked');
  assert.ok(shown.includes('No on-call or owner known'), 'no /oncall and no owner in the seed: says so');
  assert.deepEqual(buttons(body.blocks).map((b) => b.action_id), [ROLLBACK_ACTIONS.start, ROLLBACK_ACTIONS.rehearse]);

  const help = await command(app, 'help', alice);
  assert.match(help.blocks?.[0]?.text?.text ?? '', /\/rollback start \[&lt;runbook&gt;\] \[reason\]/, 'help, placeholders escaped');
  const missing = await command(app, 'no-such-runbook', alice);
  assert.match(textOf(missing.blocks), /No rollback plan matches .*production-readiness/, 'an unknown plan suggests the known ones');
});

test('Start button → form → run posted; Done and Skip recorded with actor, time and reason; thread logs each once', async () => {
  const plan = asEphemeral(app, (await command(app, '', alice)) as Record<string, unknown>, alice);
  const before = app.slack.modals.length;
  await app.sim.press(alice, button(plan.blocks, ROLLBACK_ACTIONS.start), { message: plan });
  const view = await modalAfter(app, before);
  assert.equal(view.callback_id, 'rollback:start_modal');
  assert.match(textOf(view.blocks), /&lt;previous-commit&gt;|<previous-commit>/, 'the form asks for the placeholder');
  const res = await app.sim.submit(alice, view, { reason: { value: 'error rate 30% after v2.3' }, 'ph:previous-commit': { value: 'ce44dae' } });
  assert.equal(res.body, undefined, 'form accepted');
  const run = await eventually(() => {
    const m = runMessages(app)[0];
    assert.ok(m, 'run posted in the channel');
    return m;
  });
  const runId = runIdOf(run);
  const shown = textOf(run.blocks);
  assert.ok(shown.includes('git checkout ce44dae'), 'placeholder value filled into the command');
  assert.ok(shown.includes('error rate 30% after v2.3') && shown.includes('<@UALICE>'), 'who and why');
  assert.equal(buttons(run.blocks).filter((b) => b.action_id.startsWith(`${ROLLBACK_ACTIONS.done}:`)).length, 7, 'Done on every step');

  const stale = structuredClone(run);
  await app.sim.press(bob, button(run.blocks, `${ROLLBACK_ACTIONS.done}:${STOP}`), { message: run });
  const [row] = await app.db.query<{ status: string; actor: string; at: Date }>('select status, actor, at from rollback_steps where run_id = $1 and step_key = $2', [runId, STOP]);
  assert.equal(row?.status, 'done', 'recorded before the ack');
  assert.equal(row?.actor, bob.id, 'by bob');
  assert.ok(row?.at, 'with a time');

  // A replay of the same click, from the stale message: nothing more, and bob is told.
  await app.sim.press(bob, button(stale.blocks, `${ROLLBACK_ACTIONS.done}:${STOP}`), { message: stale });
  assert.equal(await stepCount(runId, 'done', STOP), 1, 'the replay changed nothing');
  await eventually(() => assert.ok([...app.slack.messages.values()].some((m) => m.ephemeral && m.user === bob.id && /Already done by <@UBOB>/.test(m.text ?? '')), 'told who did it'));

  // Skip asks for a reason; an empty one is refused in the form.
  const skipBefore = app.slack.modals.length;
  const current = runMessages(app)[0]!;
  await app.sim.press(alice, button(current.blocks, `${ROLLBACK_ACTIONS.skip}:database-rollback/if-needed-restore-from-backup`), { message: current });
  const skipView = await modalAfter(app, skipBefore);
  const empty = await app.sim.submit(alice, skipView, { reason: { value: '  ' } });
  assert.equal((empty.body as { response_action?: string }).response_action, 'errors', 'a skip needs a reason');
  assert.equal(await stepCount(runId, 'skip'), 0, 'nothing skipped');
  assert.equal((await app.sim.submit(alice, skipView, { reason: { value: 'no data loss, the backup is not needed' } })).body, undefined, 'skip accepted');
  const again = await app.sim.submit(bob, skipView, { reason: { value: 'me too' } });
  assert.match(JSON.stringify(again.body), /Already skipped by @UALICE/, 'a second skip is told who did it');
  const [skipped] = await app.db.query<{ status: string; actor: string; reason: string }>('select status, actor, reason from rollback_steps where run_id = $1 and step_key = $2', [runId, 'database-rollback/if-needed-restore-from-backup']);
  assert.deepEqual({ ...skipped }, { status: 'skipped', actor: alice.id, reason: 'no data loss, the backup is not needed' });

  await eventually(() => {
    const lines = thread(app, run);
    assert.equal(lines.filter((l) => l.includes('started the rollback')).length, 1, `start logged once: ${lines}`);
    assert.equal(lines.filter((l) => l.includes('<@UBOB> did *Stop the application*')).length, 1, `done logged once: ${lines}`);
    assert.equal(lines.filter((l) => l.includes('skipped *If needed, restore from backup*: _no data loss')).length, 1, `skip logged once: ${lines}`);
  });
  await eventually(() => {
    const redrawn = textOf(runMessages(app)[0]!.blocks);
    assert.ok(redrawn.includes('done by <@UBOB>'), 'the message is updated in place with who did it');
    assert.ok(redrawn.includes('skipped by <@UALICE>'), 'and who skipped');
  });
  assert.equal(runMessages(app).length, 1, 'one run message: updated, not reposted');
});

test('20 concurrent Done clicks on one step from 20 users record one; 19 are told who did it', async () => {
  const run = await startRun(app, alice, { reason: 'concurrency' });
  const runId = runIdOf(run);
  const users = Array.from({ length: 20 }, (_, i) => ({ id: `UCLICK${String(i).padStart(2, '0')}`, name: `clicker${i}` }));
  const done = button(run.blocks, `${ROLLBACK_ACTIONS.done}:${STOP}`);
  const results = await Promise.all(users.map((u) => app.sim.press(u, done, { message: structuredClone(run) })));
  assert.ok(results.every((r) => r.status === 200), 'every click answered');
  assert.equal(await stepCount(runId, 'done', STOP), 1, 'recorded once');
  const [row] = await app.db.query<{ actor: string }>('select actor from rollback_steps where run_id = $1 and step_key = $2', [runId, STOP]);
  assert.ok(users.some((u) => u.id === row?.actor), 'by one of them');
  await eventually(() => {
    const told = [...app.slack.messages.values()].filter((m) => m.ephemeral && m.user?.startsWith('UCLICK') && m.text?.includes(`Already done by <@${row!.actor}>`));
    assert.equal(told.length, 19, `the other 19 are told: ${told.length}`);
  });
});

test('abort: refused to anyone else and nothing changes; allowed to an admin; the run ends', async () => {
  const run = await startRun(app, alice, { reason: 'to abort', channel: 'CABORT' });
  const runId = runIdOf(run);
  const refused = await command(app, 'abort this is not mine', mallory, 'CABORT');
  assert.match(refused.text ?? '', /Only whoever started run #\d+ \(<@UALICE>\), whoever is on call, or an admin may abort it\. Nothing changed\./);
  const [state] = await app.db.query<{ state: string }>('select state from rollback_runs where id = $1', [runId]);
  assert.equal(state?.state, 'open', 'still open');
  assert.equal(await stepCount(runId, 'abort'), 0, 'no abort recorded');
  assert.match((await command(app, 'abort', alice, 'CABORT')).text ?? '', /Usage: `\/rollback abort/, 'a reason is required');

  const ok = await command(app, `abort #${runId} false alarm`, carol, 'CABORT');
  assert.match(textOf(ok.blocks), /Run #\d+ aborted/, 'an admin may abort');
  await eventually(() => assert.ok(textOf(runMessages(app, 'CABORT')[0]!.blocks).includes('Aborted* by <@UCAROL>'), 'the message says aborted, by whom'));
  assert.match((await command(app, `abort #${runId} again`, alice, 'CABORT')).text ?? '', /aborted already; nothing changed/);
  const late = runMessages(app, 'CABORT')[0]!;
  assert.deepEqual(buttons(late.blocks).map((b) => b.action_id), [ROLLBACK_ACTIONS.timeline], 'no step buttons on an ended run');
});

test('a run completes when every step is done or skipped: summary, timeline with every step in order, status and Home', async () => {
  const run = await startRun(app, alice, { reason: 'complete me', channel: 'CDONE', values: { 'previous-commit': 'abc123' } });
  const runId = runIdOf(run);

  const open = await readPart(app.preflight.deps.db, app.preflight.deps.openRollbacks!);
  assert.ok(open.some((r) => r.id === String(runId) && r.channel === 'CDONE' && r.startedBy === alice.id && !r.drill), 'openRollbacks lists it');
  await app.sim.command('/rollback', 'status', bob, 'CDONE');
  await eventually(() => assert.ok([...app.slack.messages.values()].some((m) => m.user === bob.id && (m.text ?? '').includes('Open rollbacks') && textOf(m.blocks).includes('/archives/CDONE/')), 'status links the open run'));
  await app.sim.event({ type: 'app_home_opened', user: bob.id, channel: 'D1', tab: 'home', event_ts: '1' }, `EvRollbackHome${runId}`);
  await eventually(() => assert.ok(textOf(app.slack.views.get(bob.id)).includes(`Rollback #${runId}`), 'App Home shows the open run'));

  const keys = buttons(run.blocks).filter((b) => b.action_id.startsWith(`${ROLLBACK_ACTIONS.done}:`));
  const skipKey = 'database-rollback/only-if-schema-changes-were-made';
  for (const b of keys) {
    if (b.action_id.endsWith(skipKey)) {
      const before = app.slack.modals.length;
      await app.sim.press(bob, button(run.blocks, `${ROLLBACK_ACTIONS.skip}:${skipKey}`), { message: run });
      await app.sim.submit(bob, await modalAfter(app, before), { reason: { value: 'no schema changes in v2.3' } });
    } else {
      await app.sim.press(b.action_id.includes('communication') ? bob : alice, b, { message: run });
    }
  }
  const [ended] = await app.db.query<{ state: string }>('select state from rollback_runs where id = $1', [runId]);
  assert.equal(ended?.state, 'completed', 'completed');
  assert.equal(await stepCount(runId, 'complete'), 1, 'completed once');
  await eventually(() => {
    const m = runMessages(app, 'CDONE')[0]!;
    assert.match(textOf(m.blocks), /Completed\* in/, 'summary in the message');
    assert.match(textOf(m.blocks), /Skipped: \*Only if schema changes were made\* \(_no schema changes in v2.3_\)/, 'skips with reasons');
  });
  await eventually(() => assert.ok(thread(app, run).some((l) => l.includes('Rollback completed in')), 'summary in the thread'));

  const finished = runMessages(app, 'CDONE')[0]!;
  await app.sim.press(bob, button(finished.blocks, ROLLBACK_ACTIONS.timeline), { message: finished });
  const timeline = await eventually(() => {
    const m = [...app.slack.messages.values()].find((x) => x.user === bob.id && (x.text ?? '').includes('Timeline of'));
    assert.ok(m, 'timeline shown');
    return textOf(m.blocks);
  });
  // By name (Slack's users.info; the fake Slack names unregistered users by their lower-cased id), not by id alone.
  const [a, b] = ['ualice (UALICE)', 'ubob (UBOB)'];
  const order = [`Stop the application | done | ${a}`, `Roll back to previous version | done | ${a}`, `Only if schema changes were made (conditional) | skipped | ${b}`, `If needed, restore from backup (conditional) | done | ${a}`, `Update status page | done | ${b}`, `Send notification to users (if applicable) | done | ${b}`, `Post-mortem within 24 hours | done | ${b}`];
  let at = 0;
  for (const line of order) {
    const i = timeline.indexOf(line, at);
    assert.ok(i > at, `in order: ${line}\n${timeline}`);
    at = i;
  }
  assert.match(timeline, /\| no schema changes in v2\.3 \|/, 'skip reason in the steps table');
  assert.match(timeline, /ubob \(UBOB\): skipped: Only if schema changes were made — no schema changes in v2\.3/, 'and in the log');
  assert.match(timeline, /\| 1 \| Immediate Actions \| &lt; 5 min \| \d+s \| within budget \|/, 'phases against budgets');
  const byCommand = await command(app, `timeline #${runId}`, alice, 'CDONE');
  assert.ok(textOf(byCommand.blocks).includes('Stop the application | done | ualice (UALICE)'), '/rollback timeline too');
  assert.ok(!(await readPart(app.preflight.deps.db, app.preflight.deps.openRollbacks!)).some((r) => r.id === String(runId)), 'no longer open');
});

test('a rehearsal is marked DRILL in the message, the thread and the timeline', async () => {
  const run = await startRun(app, bob, { verb: 'rehearse', reason: 'game day', channel: 'CDRILL' });
  assert.match(run.text ?? '', /DRILL/, 'message text');
  assert.match(textOf(run.blocks), /DRILL — Rollback #\d+/, 'message header');
  await eventually(() => assert.ok(thread(app, run).some((l) => l.startsWith('🧪 DRILL') && l.includes('started the rollback')), 'thread'));
  const timeline = await command(app, 'timeline', bob, 'CDRILL');
  assert.match(textOf(timeline.blocks), /\[DRILL\]/, 'timeline');
  assert.ok((await readPart(app.preflight.deps.db, app.preflight.deps.openRollbacks!)).some((r) => r.id === String(runIdOf(run)) && r.drill), 'listed as a drill');
});

test('with several plans /rollback lists them and /rollback <runbook> picks one; start needs a name', async () => {
  const two = await startApp({
    runbooks: seedDir({ 'payments/rollback.md': '---\nkind: rollback\nowner: team-payments\n---\n# Payments rollback\n\n1. **Freeze** (< 2 minutes)\n   ```bash\n   # Pause the workers\n   kubectl scale deploy/worker --replicas=0\n   ```\n' }),
  });
  try {
    const list = await two.sim.command('/rollback', '', alice, CHANNEL);
    const listed = textOf((list.body as { blocks: unknown }).blocks);
    assert.ok(listed.includes('/rollback production-readiness') && listed.includes('/rollback payments/rollback'), `both listed: ${listed}`);
    const picked = textOf(((await two.sim.command('/rollback', 'payments/rollback', alice, CHANNEL)).body as { blocks: unknown }).blocks);
    assert.ok(picked.includes('kubectl scale deploy/worker --replicas=0') && picked.includes('Owner: team-payments'), 'the named plan, with its owner');
    const start = (await two.sim.command('/rollback', 'start', alice, CHANNEL)).body as { text: string };
    assert.match(start.text, /There are 2 rollback plans; name one first/);
    assert.deepEqual(two.slack.rejections, [], 'valid');
  } finally {
    await two.stop();
  }
});

test('who is on call comes from /oncall when it is there, and the on-call may abort someone else\'s run', async () => {
  const deps = app.preflight.deps;
  const seen: Date[] = [];
  deps.onCall = async (at) => {
    seen.push(at);
    return [{ rotationId: 'r1', rotationName: 'Primary', userId: 'UONCALL' }];
  };
  try {
    const body = await command(app, '', alice);
    assert.ok(textOf(body.blocks).includes('On call: <@UONCALL>'), 'on call shown instead of the owner');
    assert.ok(seen.length >= 1, 'asked for now');
    const run = await startRun(app, alice, { reason: 'on-call abort', channel: 'CONCALL' });
    const onCall: SlackUser = { id: 'UONCALL', name: 'oncall' };
    assert.match(textOf((await command(app, 'abort handing over', onCall, 'CONCALL')).blocks), new RegExp(`Run #${runIdOf(run)} aborted`), 'the on-call may abort');
    // A failing /oncall does not stop the plan from showing.
    deps.onCall = async () => {
      throw new Error('oncall down');
    };
    assert.ok(textOf((await command(app, '', alice)).blocks).includes('No on-call or owner known'), 'falls back when /oncall fails');
  } finally {
    deps.onCall = undefined;
  }
});
