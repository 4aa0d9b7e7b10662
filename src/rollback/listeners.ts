import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import type { Queryable } from '../db/db.ts';
import { withTimeout } from '../db/db.ts';
import type { Deps } from '../deps.ts';
import { fallbackText, notFoundBlocks } from '../runbooks/blocks.ts';
import type { Runbook } from '../runbooks/model.ts';
import { section } from '../slack/blocks.ts';
import { errorText, UserError } from '../slack/errors.ts';
import { escapeCode, escapeMrkdwn, slackDate, userMention } from '../slack/mrkdwn.ts';
import { namesVia } from '../slack/names.ts';
import {
  homeBlocks,
  planListBlocks,
  planPages,
  ROLLBACK_ACTIONS,
  ROLLBACK_HELP,
  ROLLBACK_VIEWS,
  runMessage,
  skipModal,
  startModal,
  statusBlocks,
  STEP_DONE,
  STEP_SKIP,
  threadText,
  timelineBlocks,
  whoText,
  type StepRef,
} from './blocks.ts';
import { allBudgetsEnd, allSteps, cleanValues, mayAbort, parseRunRef, phaseDeadlines, plansOf, reminders, type Plan, type Run, type StepState } from './domain.ts';
import { timelineMarkdown, timelinePeople } from './export.ts';
import {
  abortRun,
  createRun,
  events,
  forgetMessage,
  getRun,
  JOBS,
  lastRunIn,
  loadRun,
  markThreaded,
  openRuns,
  openRunsPart,
  progressOf,
  recordClockEvent,
  recordMessage,
  resolveStep,
  unthreaded,
  type StepOutcome,
} from './store.ts';

/** Slack's answer window is 3 s; database work before an acknowledgement gets most of it. */
const ACK_BUDGET_MS = 2500;
/** /oncall may be slow or down: the plan is shown without it rather than late. */
const ONCALL_BUDGET_MS = 500;

interface Reply {
  blocks: KnownBlock[];
  text: string;
}
const reply = (blocks: KnownBlock[]): Reply => ({ blocks, text: fallbackText(blocks) });
const say = (mrkdwn: string): Reply => reply([section(mrkdwn)]);

/** Plans parsed once per loaded runbook (a reload makes new Runbook objects, so edits are seen). */
const planCache = new WeakMap<Runbook, Plan[]>();
function plansIn(runbook: Runbook): Plan[] {
  let plans = planCache.get(runbook);
  if (!plans) planCache.set(runbook, (plans = plansOf(runbook)));
  return plans;
}

/** Every rollback plan in the library, in library order. */
export function allPlans(deps: Deps): Plan[] {
  return deps.library.all().flatMap(plansIn);
}

/** The plan a query names: a runbook with one (its first), or undefined with suggestions. */
function findPlan(deps: Deps, query: string): { plan: Plan } | { suggestions: string[] } {
  const found = deps.library.resolve(query);
  if ('runbook' in found) {
    const plan = plansIn(found.runbook)[0];
    if (plan) return { plan };
    return { suggestions: allPlans(deps).map((p) => p.runbookId) };
  }
  const withPlans = new Set(allPlans(deps).map((p) => p.runbookId));
  const near = found.suggestions.map((r) => r.id).filter((id) => withPlans.has(id));
  return { suggestions: near.length ? near : [...withPlans].slice(0, 5) };
}

/** `[<runbook>] [reason…]`: the first word names a plan when it is one, else the only plan there is. */
function planAndRest(deps: Deps, args: string[]): { plan: Plan; rest: string } {
  if (args.length) {
    const first = deps.library.resolve(args[0]!);
    const plan = 'runbook' in first ? plansIn(first.runbook)[0] : undefined;
    if (plan) return { plan, rest: args.slice(1).join(' ') };
  }
  const plans = allPlans(deps);
  if (plans.length === 1) return { plan: plans[0]!, rest: args.join(' ') };
  if (!plans.length) throw new UserError(NO_PLANS);
  throw new UserError(`There are ${plans.length} rollback plans; name one first, e.g. \`/rollback start ${escapeCode(plans[0]!.runbookId)} bad deploy\`. \`/rollback\` lists them.`);
}

const NO_PLANS = 'No rollback plan found. A runbook with `kind: rollback` in its front matter, or a section whose heading starts with "Rollback", is one.';

/** Who is on call now (from /oncall, when it is there); never slower than ONCALL_BUDGET_MS. */
async function onCallUsers(deps: Deps, at: Date): Promise<string[]> {
  if (!deps.onCall) return [];
  try {
    return [...new Set((await withTimeout(deps.onCall(at), ONCALL_BUDGET_MS)).map((e) => e.userId))];
  } catch (err) {
    deps.log.warn({ err: (err as Error).message }, 'on-call lookup failed; shown without it');
    return [];
  }
}

/** The run a command names (`#12`), else the channel's newest (open) one, else the only open one. */
async function runFor(deps: Deps, channel: string, ref: number | undefined, openOnly: boolean): Promise<Run> {
  if (ref !== undefined) {
    const run = await getRun(deps.db, ref);
    if (!run) throw new UserError(`No rollback run #${ref}. \`/rollback status\` lists the open ones.`);
    return run;
  }
  const here = await lastRunIn(deps.db, channel, openOnly);
  if (here) return here;
  const open = await openRuns(deps.db, 2);
  if (open.length === 1) return open[0]!;
  throw new UserError(open.length ? 'Which run? Several are open: name it, e.g. `/rollback abort #12 reason`. `/rollback status` lists them.' : openOnly ? 'No rollback is open.' : 'No rollback has run in this channel; name one with `#<run>`.'.replace('<run>', '&lt;run&gt;'));
}

/** What a command asks for: an ephemeral reply (maybe several pages), or a modal to open after the ack. */
interface Outcome {
  pages?: KnownBlock[][];
  modal?: { plan: Plan; drill: boolean; reason?: string };
  status?: true;
  changed?: number;
}

async function command(deps: Deps, client: App['client'], user: string, channel: string, text: string): Promise<Outcome> {
  const [verb = '', ...args] = text.trim().split(/\s+/).filter(Boolean);
  const now = deps.now();
  switch (verb.toLowerCase()) {
    case '': {
      const plans = allPlans(deps);
      if (!plans.length) return { pages: [reply([section(NO_PLANS)]).blocks] };
      if (plans.length > 1) return { pages: [planListBlocks(plans)] };
      return { pages: planPages(plans[0]!, whoText(await onCallUsers(deps, now), plans[0]!.owner)) };
    }
    case 'help':
      return { pages: [[section(ROLLBACK_HELP)]] };
    case 'start':
    case 'rehearse':
    case 'drill': {
      const { plan, rest } = planAndRest(deps, args);
      return { modal: { plan, drill: verb.toLowerCase() !== 'start', reason: rest || undefined } };
    }
    case 'status':
      return { status: true };
    case 'abort': {
      const ref = parseRunRef(args[0]);
      const reason = (ref !== undefined ? args.slice(1) : args).join(' ').trim();
      if (!reason) throw new UserError('Usage: `/rollback abort [#run] &lt;reason&gt;`, e.g. `/rollback abort the deploy was fine after all`.');
      const run = await runFor(deps, channel, ref, true);
      if (run.state !== 'open') throw new UserError(`Run #${run.id} is ${run.state} already; nothing changed.`);
      const onCall = await onCallUsers(deps, now);
      if (!mayAbort(run, user, onCall, deps.config.ADMIN_USERS)) {
        throw new UserError(`🔒 Only whoever started run #${run.id} (${userMention(run.startedBy)}), whoever is on call, or an admin may abort it. Nothing changed.`);
      }
      const ok = await abortRun(deps.db, { runId: run.id, actor: user, reason: reason.slice(0, 500) }, now, (tx) => changed(deps, tx, run.id));
      if (!ok) throw new UserError(`Run #${run.id} ended meanwhile; nothing changed.`);
      return { pages: [[section(`🛑 Run #${run.id} aborted: _${escapeMrkdwn(reason)}_. \`/rollback timeline #${run.id}\` has its timeline.`)]] };
    }
    case 'timeline': {
      const run = await runFor(deps, channel, parseRunRef(args[0]), false);
      return { pages: [await timelineFor(deps, client, run.id)] };
    }
    default: {
      const found = findPlan(deps, [verb, ...args].join(' '));
      if ('plan' in found) return { pages: planPages(found.plan, whoText(await onCallUsers(deps, now), found.plan.owner)) };
      return { pages: [notFoundBlocks('rollback plan', [verb, ...args].join(' '), found.suggestions)] };
    }
  }
}

async function timelineFor(deps: Deps, client: App['client'], runId: number): Promise<KnownBlock[]> {
  const [loaded, log] = await Promise.all([loadRun(deps.db, runId), events(deps.db, runId)]);
  if (!loaded) throw new UserError(`No rollback run #${runId}.`);
  // The timeline is a code block to paste into the post-mortem: mentions would not render there, names do.
  const names = await namesVia(client, timelinePeople(loaded.run, loaded.steps, log));
  return timelineBlocks(loaded.run, timelineMarkdown(loaded.run, loaded.steps, log, deps.now(), names));
}

/** Every change to a run: its message redrawn and its thread brought up to date, in the change's transaction. */
async function changed(deps: Deps, tx: Queryable, runId: number): Promise<void> {
  await deps.redraws.mark('rollback', String(runId), tx);
  await deps.jobs.schedule({ name: JOBS.thread, key: String(runId), runAt: deps.now(), payload: { run: runId } }, { rearm: true, q: tx });
}

/** The run's clock, in the transaction that starts it: a warning per budgeted phase, past-all-budgets, reminders. */
async function scheduleClock(deps: Deps, tx: Queryable, run: Run): Promise<void> {
  for (const [phase, at] of phaseDeadlines(run.plan, run.startedAt)) {
    await deps.jobs.schedule({ name: JOBS.overrun, key: `${run.id}:${phase}`, runAt: at, payload: { run: run.id, phase } }, { q: tx });
  }
  const end = allBudgetsEnd(run.plan, run.startedAt);
  if (end) await deps.jobs.schedule({ name: JOBS.overdue, key: `${run.id}:all`, runAt: end, payload: { run: run.id } }, { q: tx });
  for (const r of reminders(run.plan, run.startedAt)) {
    await deps.jobs.schedule({ name: JOBS.reminder, key: `${run.id}:${r.stepKey}`, runAt: r.at, payload: { run: run.id, step: r.stepKey } }, { q: tx });
  }
}

function defineJobs(app: App, deps: Deps): void {
  const after = (runId: number) => (tx: Queryable) => changed(deps, tx, runId);
  deps.jobs.define({
    name: JOBS.overrun,
    run: async (job, ctx) => {
      const { run: id, phase: key } = job.payload as { run: number; phase: string };
      const run = await getRun(deps.db, id);
      const phase = run?.plan.phases.find((p) => p.key === key);
      // Checked again here and in the insert: a finished run or phase gets no warning.
      if (!run || !phase || run.state !== 'open') return;
      await recordClockEvent(deps.db, { runId: id, action: 'overrun', subject: key, pendingKeys: phase.steps.map((s) => s.key), requireOpen: true }, ctx.now, after(id));
    },
  });
  deps.jobs.define({
    name: JOBS.overdue,
    run: async (job, ctx) => {
      const { run: id } = job.payload as { run: number };
      const run = await getRun(deps.db, id);
      if (!run || run.state !== 'open') return;
      await recordClockEvent(deps.db, { runId: id, action: 'overdue', subject: 'all', pendingKeys: allSteps(run.plan).map((s) => s.key), requireOpen: true }, ctx.now, after(id));
    },
  });
  deps.jobs.define({
    name: JOBS.reminder,
    run: async (job, ctx) => {
      const { run: id, step } = job.payload as { run: number; step: string };
      // A reminder is for an item still open, whether or not the run was aborted (the post-mortem is still owed).
      await recordClockEvent(deps.db, { runId: id, action: 'reminder', subject: step, pendingKeys: [step], requireOpen: false }, ctx.now, after(id));
    },
  });
  deps.jobs.define({
    name: JOBS.thread,
    run: async (job) => {
      const { run: id } = job.payload as { run: number };
      const loaded = await loadRun(deps.db, id);
      // Not posted yet: recording the message's ts asks for this job again.
      if (!loaded?.run.ts) return;
      for (const e of await unthreaded(deps.db, id)) {
        await app.client.chat.postMessage({ channel: loaded.run.channel, thread_ts: loaded.run.ts, text: threadText(loaded.run, e, loaded.steps, deps.now()), unfurl_links: false });
        await markThreaded(deps.db, e.id);
      }
    },
  });
  deps.redraws.define('rollback', {
    async render(ref) {
      const loaded = await loadRun(deps.db, Number(ref));
      if (!loaded?.run.ts) return [];
      return [{ channel: loaded.run.channel, ts: loaded.run.ts, ...runMessage(loaded.run, loaded.steps, deps.now()) }];
    },
    forget: (channel, ts) => forgetMessage(deps.db, channel, ts),
  });
}

/** A step button's value, or undefined when it is not one of ours. */
function stepRef(value: string | undefined): StepRef | undefined {
  try {
    const v = JSON.parse(value ?? '') as StepRef;
    return typeof v.r === 'number' && typeof v.s === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

function outcomeText(o: StepOutcome): string | undefined {
  switch (o.kind) {
    case 'already':
      return `${o.step.status === 'done' ? '✅' : '⏭️'} Already ${o.step.status === 'done' ? 'done' : 'skipped'} by ${userMention(o.step.actor ?? '')}${o.step.at ? ` ${slackDate(o.step.at, '{time_secs}')}` : ''}${o.step.reason ? `: _${escapeMrkdwn(o.step.reason)}_` : ''}. Nothing changed.`;
    case 'closed':
      return `Run #${o.run.id} is ${o.run.state}; nothing changed. \`/rollback timeline #${o.run.id}\` has its timeline.`;
    case 'missing':
      return 'That rollback step no longer exists; nothing changed.';
    default:
      return undefined;
  }
}

/** Registers /rollback, its buttons and forms, its jobs, its App Home part and `deps.openRollbacks`. */
export function register(app: App, deps: Deps): void {
  defineJobs(app, deps);

  const open = openRunsPart();
  deps.openRollbacks = {
    ...open,
    read: (value) => open.read(value).map((r) => ({ id: String(r.id), runbookId: r.runbookId, title: r.plan.title, channel: r.channel, ts: r.ts, startedBy: r.startedBy, startedAt: r.startedAt, drill: r.drill })),
  };
  deps.home.push(async () => {
    const runs = await openRuns(deps.db, 11);
    if (!runs.length) return [];
    const progress = await progressOf(deps.db, runs.map((r) => r.id));
    return homeBlocks(runs.map((run) => ({ run, ...(progress.get(run.id) ?? { resolved: 0, total: 0 }) })), deps.now());
  });

  const openStart = async (client: App['client'], triggerId: string, plan: Plan, meta: { channel: string; drill: boolean; reason?: string }) => {
    await client.views.open({ trigger_id: triggerId, view: startModal(plan, meta) });
  };

  app.command('/rollback', async ({ command: cmd, ack, respond, client }) => {
    let result: Outcome;
    try {
      result = await withTimeout(command(deps, client, cmd.user_id, cmd.channel_id, cmd.text), ACK_BUDGET_MS);
    } catch (err) {
      if (!(err instanceof UserError)) deps.log.warn({ err }, '/rollback failed');
      await ack({ response_type: 'ephemeral', text: errorText(err) });
      return;
    }
    if (result.pages) {
      const [first, ...more] = result.pages;
      await ack({ response_type: 'ephemeral', ...reply(first!) });
      for (const page of more) await respond({ response_type: 'ephemeral', ...reply(page) });
      return;
    }
    await ack();
    try {
      if (result.modal) await openStart(client, cmd.trigger_id, result.modal.plan, { channel: cmd.channel_id, drill: result.modal.drill, reason: result.modal.reason });
      if (result.status) {
        const now = deps.now();
        const runs = await openRuns(deps.db, 20);
        const progress = await progressOf(deps.db, runs.map((r) => r.id));
        const rows = await Promise.all(
          runs.map(async (run) => {
            const link = run.ts ? await client.chat.getPermalink({ channel: run.channel, message_ts: run.ts }).then((r) => r.permalink, () => undefined) : undefined;
            return { run, link, ...(progress.get(run.id) ?? { resolved: 0, total: 0 }) };
          }),
        );
        await respond({ response_type: 'ephemeral', ...reply(statusBlocks(rows, now)) });
      }
    } catch (err) {
      deps.log.warn({ err }, '/rollback follow-up failed');
      await respond({ response_type: 'ephemeral', text: errorText(err) });
    }
  });

  const tellFor = (body: BlockAction, respond: (m: Record<string, unknown>) => Promise<unknown>, client: App['client']) => async (text: string) => {
    if (body.response_url) await respond({ response_type: 'ephemeral', replace_original: false, text });
    else await client.chat.postMessage({ channel: body.user.id, text });
  };

  for (const [actionId, drill] of [[ROLLBACK_ACTIONS.start, false], [ROLLBACK_ACTIONS.rehearse, true]] as const) {
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, respond, client }) => {
      await ack();
      const tell = tellFor(body, respond, client);
      try {
        const { runbook } = JSON.parse(action.value ?? '{}') as { runbook?: string };
        const found = runbook ? findPlan(deps, runbook) : undefined;
        if (!found || !('plan' in found)) return await tell('This plan is gone from the runbooks folder; `/rollback` shows the current ones.');
        const channel = body.channel?.id ?? body.container?.channel_id;
        if (!channel) return await tell('Start a rollback from a channel: `/rollback start` there.');
        await openStart(client, body.trigger_id, found.plan, { channel, drill });
      } catch (err) {
        deps.log.warn({ err }, 'opening the start form failed');
        await tell(errorText(err));
      }
    });
  }

  app.view(ROLLBACK_VIEWS.start, async ({ ack, body, view, client }) => {
    const user = body.user.id;
    const meta = JSON.parse(view.private_metadata || '{}') as { runbook?: string; section?: string; channel?: string; drill?: boolean };
    const found = meta.runbook ? findPlan(deps, meta.runbook) : undefined;
    if (!found || !('plan' in found) || !meta.channel) {
      await ack({ response_action: 'errors', errors: { reason: 'This plan is gone from the runbooks folder; close this and run /rollback again.' } });
      return;
    }
    const plan = found.plan;
    const values = view.state.values;
    const reason = values.reason?.value?.value?.trim() || undefined;
    const raw = Object.fromEntries(plan.placeholders.map((name) => [name, values[`ph:${name}`.slice(0, 255)]?.value?.value ?? undefined]));
    let run: Run;
    try {
      run = await withTimeout(
        createRun(deps.db, { plan, channel: meta.channel, startedBy: user, reason: reason?.slice(0, 500), drill: !!meta.drill, values: cleanValues(plan, raw) }, deps.now(), (tx, r) => scheduleClock(deps, tx, r)),
        ACK_BUDGET_MS,
      );
    } catch (err) {
      deps.log.warn({ err }, 'starting a rollback failed');
      await ack({ response_action: 'errors', errors: { reason: errorText(err).slice(0, 150) } });
      return;
    }
    await ack();
    try {
      const steps = new Map<string, StepState>(allSteps(plan).map((s) => [s.key, { key: s.key, status: 'pending' }]));
      const message = runMessage(run, steps, deps.now());
      const posted = await client.chat.postMessage({ channel: run.channel, ...message, unfurl_links: false });
      await recordMessage(deps.db, run.id, posted.ts!);
      await deps.db.transaction((tx) => changed(deps, tx, run.id));
    } catch (err) {
      deps.log.warn({ err }, 'posting a rollback run failed');
      const code = (err as { data?: { error?: string } }).data?.error;
      const why = code === 'not_in_channel' || code === 'channel_not_found' ? 'I cannot post in that channel: invite me with `/invite @Preflight` and start again.' : errorText(err);
      await abortRun(deps.db, { runId: run.id, actor: user, reason: 'the run could not be posted in its channel' }, deps.now(), async () => undefined).catch(() => undefined);
      await client.chat.postMessage({ channel: user, text: `Rollback #${run.id} was not started: ${why}` }).catch(() => undefined);
    }
  });

  app.action<BlockAction<ButtonAction>>(STEP_DONE, async ({ ack, body, action, respond, client }) => {
    const ref = stepRef(action.value);
    // Stored before Slack hears back: an acknowledged click is a recorded click.
    const outcome = ref
      ? await withTimeout(resolveStep(deps.db, { runId: ref.r, stepKey: ref.s, status: 'done', actor: body.user.id }, deps.now(), (tx) => changed(deps, tx, ref.r)), ACK_BUDGET_MS).catch((error: unknown) => ({ kind: 'error' as const, error }))
      : undefined;
    await ack();
    const tell = tellFor(body, respond, client);
    if (!outcome) return tell('This button is out of date; `/rollback status` links the open runs.');
    if (outcome.kind === 'error') {
      if (!(outcome.error instanceof UserError)) deps.log.warn({ err: outcome.error }, 'rollback step failed');
      return tell(errorText(outcome.error));
    }
    const text = outcomeText(outcome);
    if (text) await tell(text);
  });

  app.action<BlockAction<ButtonAction>>(STEP_SKIP, async ({ ack, body, action, respond, client }) => {
    await ack();
    const tell = tellFor(body, respond, client);
    const ref = stepRef(action.value);
    try {
      const loaded = ref && (await loadRun(deps.db, ref.r));
      const step = loaded && allSteps(loaded.run.plan).find((s) => s.key === ref.s);
      if (!loaded || !step) return await tell('This button is out of date; `/rollback status` links the open runs.');
      const state = loaded.steps.get(step.key);
      if (state && state.status !== 'pending') return await tell(outcomeText({ kind: 'already', step: state })!);
      if (loaded.run.state !== 'open') return await tell(outcomeText({ kind: 'closed', run: loaded.run })!);
      await client.views.open({ trigger_id: body.trigger_id, view: skipModal(loaded.run, step) });
    } catch (err) {
      deps.log.warn({ err }, 'opening the skip form failed');
      await tell(errorText(err));
    }
  });

  app.view(ROLLBACK_VIEWS.skip, async ({ ack, body, view }) => {
    const ref = stepRef(view.private_metadata);
    const reason = view.state.values.reason?.value?.value?.trim();
    if (!ref) return void (await ack({ response_action: 'errors', errors: { reason: 'This form is out of date; close it and press Skip again.' } }));
    if (!reason) return void (await ack({ response_action: 'errors', errors: { reason: 'Say why this step is skipped: it goes into the timeline.' } }));
    try {
      const outcome = await withTimeout(resolveStep(deps.db, { runId: ref.r, stepKey: ref.s, status: 'skipped', actor: body.user.id, reason: reason.slice(0, 500) }, deps.now(), (tx) => changed(deps, tx, ref.r)), ACK_BUDGET_MS);
      const text = outcomeText(outcome);
      // Slack shows input errors as plain text, so mentions and dates are spelt out.
      if (text) await ack({ response_action: 'errors', errors: { reason: text.replace(/<@([A-Z0-9]+)>/g, '@$1').replace(/<!date\^\d+\^[^|]*\|([^>]*)>/g, '$1').replace(/[*_`]/g, '').slice(0, 150) } });
      else await ack();
    } catch (err) {
      deps.log.warn({ err }, 'skipping a rollback step failed');
      await ack({ response_action: 'errors', errors: { reason: errorText(err).slice(0, 150) } });
    }
  });

  app.action<BlockAction<ButtonAction>>(ROLLBACK_ACTIONS.timeline, async ({ ack, body, action, respond, client }) => {
    await ack();
    const tell = tellFor(body, respond, client);
    try {
      const { r } = JSON.parse(action.value ?? '{}') as { r?: number };
      if (typeof r !== 'number') return await tell('This button is out of date.');
      const blocks = await timelineFor(deps, client, r);
      if (body.response_url) await respond({ response_type: 'ephemeral', replace_original: false, ...reply(blocks) });
      else await client.chat.postMessage({ channel: body.user.id, ...reply(blocks) });
    } catch (err) {
      if (!(err instanceof UserError)) deps.log.warn({ err }, 'rollback timeline failed');
      await tell(errorText(err));
    }
  });
}
