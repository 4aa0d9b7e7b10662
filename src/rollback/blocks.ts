import type { KnownBlock, ModalView } from '@slack/types';
import { actions, button, context, header, paginate, section, splitMrkdwn } from '../slack/blocks.ts';
import { MESSAGE_BLOCKS, SECTION_TEXT } from '../slack/limits.ts';
import { escapeCode, escapeMrkdwn, mrkdwnLink, safePlain, slackDate, userMention } from '../slack/mrkdwn.ts';
import {
  allBudgetsEnd,
  allSteps,
  fillCommand,
  formatDuration,
  formatMinutes,
  phaseTimings,
  type Plan,
  type PlanPhase,
  type PlanStep,
  type Run,
  type RunEvent,
  type StepState,
} from './domain.ts';

/** Action ids and view callbacks, shared by these blocks and the listeners. */
export const ROLLBACK_ACTIONS = {
  start: 'rollback:start',
  rehearse: 'rollback:rehearse',
  done: 'rollback:step_done',
  skip: 'rollback:step_skip',
  timeline: 'rollback:timeline',
} as const;

export const ROLLBACK_VIEWS = {
  start: 'rollback:start_modal',
  skip: 'rollback:skip_modal',
} as const;

/** Step buttons carry their step's key in the action id (`rollback:step_done:<key>`); these match them all. */
export const STEP_DONE = new RegExp(`^${ROLLBACK_ACTIONS.done}:`);
export const STEP_SKIP = new RegExp(`^${ROLLBACK_ACTIONS.skip}:`);

/** What a step button's value holds. */
export interface StepRef {
  r: number;
  s: string;
}

export const ROLLBACK_HELP = [
  '*/rollback* — the rollback plan, and tracked rollbacks step by step against the clock',
  '• `/rollback` shows the plan at once: phases with budgets, every step with its commands, who is on call, and a *Start rollback* button. With several plans it lists them.',
  '• `/rollback &lt;runbook&gt;` shows that runbook\'s plan.',
  '• `/rollback start [&lt;runbook&gt;] [reason]` opens the start form (reason, a value for each `&lt;placeholder&gt;` in the commands) and posts the run here: press *Done* or *Skip* (with a reason) on each step; every action is logged in the run\'s thread with who and when.',
  '• `/rollback status` lists open runs with links.',
  '• `/rollback abort [#run] &lt;reason&gt;` ends a run: allowed to whoever started it, whoever is on call and admins.',
  '• `/rollback timeline [#run]` the Markdown timeline for the post-mortem (also `preflight export rollback &lt;run&gt; --format md`).',
  '• `/rollback rehearse [&lt;runbook&gt;] [reason]` the same flow as a DRILL, to time the team against the budgets; drills page nobody.',
  'A phase still open when its budget runs out (budgets add up from the start) gets one warning in the thread; a plan step saying "within 24 hours" gets a reminder then, if still open.',
].join('\n');

const ICON: Record<StepState['status'], string> = { pending: '⬜', done: '✅', skipped: '⏭️' };

/** A code block of commands, escaped, each line kept whole. */
function codeBlock(lines: string[]): string {
  return `\`\`\`\n${escapeCode(lines.join('\n'))}\n\`\`\``;
}

/** A step's name line and its commands, split to fit sections. */
function stepSections(text: string): KnownBlock[] {
  return splitMrkdwn(text, SECTION_TEXT).map((t) => section(t));
}

function budgetText(phase: PlanPhase): string {
  if (!phase.budget) return 'no budget';
  return `${phase.budget.kind === 'limit' ? '< ' : '~'}${formatMinutes(phase.budget.minutes)}`;
}

function stepLabel(step: PlanStep): string {
  return `*${escapeMrkdwn(step.name)}*${step.conditional ? '  _(conditional)_' : ''}`;
}

/** Who answers for a plan: on-call people from /oncall, else the runbook's owner. */
export function whoText(onCall: string[], owner: string | undefined): string {
  if (onCall.length) return `On call: ${onCall.map(userMention).join(', ')}`;
  if (owner) return `Owner: ${escapeMrkdwn(owner)}`;
  return 'No on-call or owner known: add `owner:` to the runbook\'s front matter.';
}

/** The plan as `/rollback` shows it: pages of at most MESSAGE_BLOCKS blocks, the Start button on the last. */
export function planPages(plan: Plan, who: string): KnownBlock[][] {
  const blocks: KnownBlock[] = [header(`🆘 ${plan.title.replace(/^[^\p{L}\p{N}]+/u, '')}`), context(`\`${escapeCode(plan.runbookId)}\``, who)];
  plan.phases.forEach((phase, i) => {
    blocks.push(section(`*${i + 1}. ${escapeMrkdwn(phase.title)}*  ⏱ ${budgetText(phase)}  ·  ${phase.steps.length} step${phase.steps.length === 1 ? '' : 's'}`));
    for (const step of phase.steps) blocks.push(...stepSections(`${ICON.pending} ${stepLabel(step)}${step.commands.length ? `\n${codeBlock(step.commands)}` : ''}`));
  });
  const pages = paginate(blocks, MESSAGE_BLOCKS - 2);
  const start = { runbook: plan.runbookId, section: plan.sectionKey };
  pages[pages.length - 1]!.push(
    actions([button('🚨 Start rollback', ROLLBACK_ACTIONS.start, start, 'danger'), button('🧪 Rehearse (drill)', ROLLBACK_ACTIONS.rehearse, start)]),
  );
  if (pages.length > 1) pages.forEach((p, i) => p.push(context(`Page ${i + 1} of ${pages.length}: the plan continues in the next message.`)));
  return pages;
}

/** `/rollback` with several plans: each with a button to show it. */
export function planListBlocks(plans: Plan[]): KnownBlock[] {
  const lines = plans.map((p) => `• *${escapeMrkdwn(p.title)}* — \`/rollback ${escapeCode(p.runbookId)}\`  (${p.phases.length} phases, ${allSteps(p).length} steps)`);
  const pieces = splitMrkdwn(lines.join('\n'), SECTION_TEXT);
  const blocks: KnownBlock[] = [header('🆘 Rollback plans'), ...pieces.slice(0, MESSAGE_BLOCKS - 3).map((t) => section(t))];
  if (pieces.length > MESSAGE_BLOCKS - 3) blocks.push(context('…more plans: name the runbook, `/rollback <runbook>`.'.replace('<runbook>', '&lt;runbook&gt;')));
  blocks.push(context('`/rollback help` explains starting, tracking and rehearsing a rollback.'));
  return blocks;
}

/** The start form: a reason, and a value for each placeholder of the plan's commands. */
export function startModal(plan: Plan, meta: { channel: string; drill: boolean; reason?: string }): ModalView {
  const blocks: KnownBlock[] = [
    section(`${meta.drill ? '🧪 *DRILL* — a rehearsal against the budgets; nobody is paged.\n' : ''}*${escapeMrkdwn(plan.title)}* from \`${escapeCode(plan.runbookId)}\`: ${plan.phases.length} phases, ${allSteps(plan).length} steps. The run is posted in the channel.`),
    {
      type: 'input',
      block_id: 'reason',
      optional: true,
      label: { type: 'plain_text', text: 'Reason' },
      element: { type: 'plain_text_input', action_id: 'value', max_length: 500, placeholder: { type: 'plain_text', text: 'What went wrong?' }, ...(meta.reason ? { initial_value: meta.reason.slice(0, 500) } : {}) },
    },
    ...plan.placeholders.slice(0, 90).map(
      (name): KnownBlock => ({
        type: 'input',
        block_id: `ph:${name}`.slice(0, 255),
        optional: true,
        label: { type: 'plain_text', text: safePlain(`<${name}>`).slice(0, 2000) },
        hint: { type: 'plain_text', text: 'Filled into the commands shown in the run; leave empty to keep the placeholder.' },
        element: { type: 'plain_text_input', action_id: 'value', max_length: 500 },
      }),
    ),
  ];
  return {
    type: 'modal',
    callback_id: ROLLBACK_VIEWS.start,
    private_metadata: JSON.stringify({ runbook: plan.runbookId, section: plan.sectionKey, channel: meta.channel, drill: meta.drill }),
    title: { type: 'plain_text', text: meta.drill ? 'Rehearse rollback' : 'Start rollback' },
    submit: { type: 'plain_text', text: meta.drill ? 'Start drill' : 'Start' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks,
  };
}

/** The skip form: why this step is skipped. */
export function skipModal(run: Run, step: PlanStep): ModalView {
  return {
    type: 'modal',
    callback_id: ROLLBACK_VIEWS.skip,
    private_metadata: JSON.stringify({ r: run.id, s: step.key }),
    title: { type: 'plain_text', text: 'Skip step' },
    submit: { type: 'plain_text', text: 'Skip' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(`Skip ${stepLabel(step)} in run #${run.id}${run.drill ? ' (DRILL)' : ''}?`),
      { type: 'input', block_id: 'reason', label: { type: 'plain_text', text: 'Reason' }, element: { type: 'plain_text_input', action_id: 'value', max_length: 500, placeholder: { type: 'plain_text', text: 'e.g. no schema changes in this release' } } },
    ],
  };
}

/** The run's title line. */
export function runTitle(run: Pick<Run, 'id' | 'drill' | 'plan'>): string {
  return `${run.drill ? '🧪 DRILL — ' : '🚨 '}Rollback #${run.id}: ${run.plan.title.replace(/^[^\p{L}\p{N}]+/u, '')}`;
}

function stepStatus(s: StepState | undefined): string {
  if (!s || s.status === 'pending') return '';
  const who = s.actor ? ` by ${userMention(s.actor)}` : '';
  const when = s.at ? ` ${slackDate(s.at, '{time_secs}')}` : '';
  return s.status === 'done' ? ` — done${who}${when}` : ` — skipped${who}${when}: _${escapeMrkdwn(s.reason ?? '')}_`;
}

/**
 * The posted run, as it should look now: phases with elapsed time against budget, steps with Done/Skip while
 * pending, commands with the run's placeholder values. Plans too long for one message show every step but
 * keep buttons for the first pending ones, saying how many wait.
 */
export function runMessage(run: Run, steps: Map<string, StepState>, now: Date): { blocks: KnownBlock[]; text: string } {
  const timings = phaseTimings(run, steps, now);
  const end = allBudgetsEnd(run.plan, run.startedAt);
  const head: KnownBlock[] = [
    header(runTitle(run)),
    context(
      `Started by ${userMention(run.startedBy)} ${slackDate(run.startedAt)}`,
      run.reason ? `Reason: _${escapeMrkdwn(run.reason)}_` : 'No reason given',
      run.drill ? '*DRILL*: a rehearsal; nobody is paged' : '',
    ),
  ];
  const foot: KnownBlock[] = [];
  const open = run.state === 'open';
  const total = formatDuration((run.endedAt ?? now).getTime() - run.startedAt.getTime());
  const budgetTotal = end ? formatMinutes((end.getTime() - run.startedAt.getTime()) / 60_000) : undefined;
  if (open && end && now.getTime() > end.getTime()) foot.push(section(`🔴 *Open past all budgets*: ${total} since the start, the plan's budgets add up to ${budgetTotal}.`));
  if (run.state === 'completed') foot.push(section(`🏁 *Completed* in ${total}${budgetTotal ? ` (budgets ${budgetTotal})` : ''}.${skipSummary(run, steps)}`));
  if (run.state === 'aborted') foot.push(section(`🛑 *Aborted* by ${userMention(run.endedBy ?? '')} after ${total}: _${escapeMrkdwn(run.endReason ?? '')}_`));
  if (!open) foot.push(actions([button('🧾 Timeline', ROLLBACK_ACTIONS.timeline, { r: run.id })]));

  const room = MESSAGE_BLOCKS - head.length - foot.length - 1;
  const full = runBody(run, steps, timings, false, room);
  const body = full.length <= room ? full : runBody(run, steps, timings, true, room);
  const blocks = [...head, ...body, ...foot];
  const resolved = [...steps.values()].filter((s) => s.status !== 'pending').length;
  return { blocks, text: `${runTitle(run)} — ${run.state === 'open' ? `${resolved}/${steps.size} steps` : run.state}` };
}

/**
 * The phases and steps of a run. Compact (for plans too big for one message): each phase's finished steps
 * share one section, and pending steps get their own section and buttons while room lasts; the rest are counted.
 */
function runBody(run: Run, steps: Map<string, StepState>, timings: ReturnType<typeof phaseTimings>, compact: boolean, room: number): KnownBlock[] {
  const body: KnownBlock[] = [];
  const open = run.state === 'open';
  let waiting = 0;
  const stepText = (step: PlanStep, s: StepState | undefined) => {
    const commands = step.commands.map((c) => fillCommand(c, run.values));
    const text = `${ICON[s?.status ?? 'pending']} ${stepLabel(step)}${stepStatus(s)}${commands.length ? `\n${codeBlock(commands)}` : ''}`;
    // One section per step: a step too long for one is cut at a line and says so (the plan view has it all).
    const pieces = splitMrkdwn(text, SECTION_TEXT);
    return pieces.length > 1 ? `${pieces[0]}\n_…${pieces.length - 1} more part(s): \`/rollback ${escapeCode(run.runbookId)}\` shows the whole step._` : pieces[0]!;
  };
  timings.forEach((t, i) => {
    const pace = t.phase.budget ? `⏱ ${formatDuration(t.elapsedMs)} of ${budgetText(t.phase)}${t.dueAt ? ` · due ${slackDate(t.dueAt, '{time}')}` : ''}` : `⏱ ${formatDuration(t.elapsedMs)}`;
    const state = t.done === t.total ? (t.over ? '🔴 over budget' : '✅ done') : t.over ? '🔴 *over budget*' : `${t.done}/${t.total}`;
    body.push(section(`*${i + 1}. ${escapeMrkdwn(t.phase.title)}*  ${pace}  ·  ${state}`));
    const phasesLeft = timings.length - i - 1;
    if (compact) {
      const finished = t.phase.steps.filter((st) => (steps.get(st.key)?.status ?? 'pending') !== 'pending');
      const lines = finished.map((st) => `${ICON[steps.get(st.key)!.status]} ${stepLabel(st)}${stepStatus(steps.get(st.key))}`);
      if (lines.length) body.push(section(splitMrkdwn(lines.join('\n'), SECTION_TEXT)[0]!));
    }
    for (const step of t.phase.steps) {
      const s = steps.get(step.key);
      const pending = !s || s.status === 'pending';
      if (compact && !pending) continue;
      // Room for this step's two blocks, the later phases' headers and the closing count.
      if (compact && body.length + 2 + phasesLeft + 1 > room) {
        if (pending) waiting++;
        continue;
      }
      body.push(section(stepText(step, s)));
      if (open && pending) {
        const ref: StepRef = { r: run.id, s: step.key };
        body.push(actions([button('Done', `${ROLLBACK_ACTIONS.done}:${step.key}`, ref, 'primary'), button('Skip…', `${ROLLBACK_ACTIONS.skip}:${step.key}`, ref)]));
      }
    }
  });
  if (waiting) body.push(context(`${waiting} more pending step(s) are shown, with their buttons, as earlier ones are done (one message holds ${MESSAGE_BLOCKS} blocks; \`/rollback ${escapeCode(run.runbookId)}\` shows the whole plan).`));
  return body;
}

function skipSummary(run: Run, steps: Map<string, StepState>): string {
  const skipped = allSteps(run.plan).filter((s) => steps.get(s.key)?.status === 'skipped');
  if (!skipped.length) return ' Nothing skipped.';
  return `\nSkipped: ${skipped.map((s) => `*${escapeMrkdwn(s.name)}* (_${escapeMrkdwn(steps.get(s.key)?.reason ?? '')}_)`).join('; ')}`;
}

/** The thread line for one event; `owner` is mentioned in warnings of real runs only (drills page nobody). */
export function threadText(run: Run, e: RunEvent, steps: Map<string, StepState>, now: Date): string {
  const step = e.stepKey ? allSteps(run.plan).find((s) => s.key === e.stepKey) : undefined;
  const phase = e.stepKey ? run.plan.phases.find((p) => p.key === e.stepKey) : undefined;
  const drill = run.drill ? '🧪 DRILL · ' : '';
  const who = e.actor ? userMention(e.actor) : 'Preflight';
  const ping = run.drill ? 'the run\'s starter' : userMention(run.startedBy);
  const name = `*${escapeMrkdwn(step?.name ?? e.stepKey ?? '')}*`;
  switch (e.action) {
    case 'start':
      return `${drill}▶️ ${who} started the rollback${e.reason ? `: _${escapeMrkdwn(e.reason)}_` : ''}`;
    case 'done':
      return `${drill}✅ ${who} did ${name}`;
    case 'skip':
      return `${drill}⏭️ ${who} skipped ${name}: _${escapeMrkdwn(e.reason ?? '')}_`;
    case 'abort':
      return `${drill}🛑 ${who} aborted the rollback: _${escapeMrkdwn(e.reason ?? '')}_`;
    case 'complete': {
      const timings = phaseTimings(run, steps, now);
      const lines = timings.map((t) => `• ${escapeMrkdwn(t.phase.title)}: ${formatDuration(t.elapsedMs)}${t.phase.budget ? ` of ${budgetText(t.phase)}${t.over ? ' 🔴 over' : ''}` : ''}`);
      return `${drill}🏁 Rollback completed in ${formatDuration(e.at.getTime() - run.startedAt.getTime())}.\n${lines.join('\n')}${skipSummary(run, steps)}`;
    }
    case 'overrun': {
      const open = phase ? phase.steps.filter((s) => (steps.get(s.key)?.status ?? 'pending') === 'pending').length : 0;
      return `${drill}⏰ ${ping}: *${escapeMrkdwn(phase?.title ?? e.stepKey ?? '')}* is past its budget (${phase ? budgetText(phase) : '?'}), ${open} step(s) still open.`;
    }
    case 'overdue':
      return `${drill}🔴 ${ping}: this rollback is still open past all its budgets.`;
    case 'reminder':
      return `${drill}📝 ${ping}: reminder, ${name} is still open.`;
  }
}

/** `/rollback status`: open runs with links to their messages. */
export function statusBlocks(runs: Array<{ run: Run; link?: string; resolved: number; total: number }>, now: Date): KnownBlock[] {
  if (!runs.length) return [section('No rollback is open. `/rollback` shows the plan; `/rollback rehearse` runs a drill.')];
  const lines = runs.map(({ run, link, resolved, total }) => {
    const title = escapeMrkdwn(runTitle(run));
    return `• ${link ? mrkdwnLink(link, title) : title} — ${resolved}/${total} steps, ${formatDuration(now.getTime() - run.startedAt.getTime())} since ${slackDate(run.startedAt, '{time}')} by ${userMention(run.startedBy)} in <#${run.channel}>`;
  });
  const pieces = splitMrkdwn(lines.join('\n'), SECTION_TEXT);
  return [header(`Open rollbacks (${runs.length})`), ...pieces.slice(0, MESSAGE_BLOCKS - 2).map((t) => section(t))];
}

/** The App Home part: open runs (a dozen blocks at most). */
export function homeBlocks(runs: Array<{ run: Run; resolved: number; total: number }>, now: Date): KnownBlock[] {
  if (!runs.length) return [];
  const lines = runs.slice(0, 10).map(({ run, resolved, total }) => `• *${escapeMrkdwn(runTitle(run))}* — ${resolved}/${total} steps, ${formatDuration(now.getTime() - run.startedAt.getTime())} in, <#${run.channel}>`);
  if (runs.length > 10) lines.push(`…and ${runs.length - 10} more: \`/rollback status\``);
  return [header('Open rollbacks'), ...splitMrkdwn(lines.join('\n'), SECTION_TEXT).slice(0, 3).map((t) => section(t))];
}

/** A Markdown timeline shown in Slack: in a code block so it stays copyable, split between lines. */
export function timelineBlocks(run: Run, markdown: string): KnownBlock[] {
  const pieces = splitMrkdwn(`\`\`\`\n${escapeCode(markdown.trimEnd())}\n\`\`\``, SECTION_TEXT);
  const blocks: KnownBlock[] = [section(`🧾 Timeline of ${escapeMrkdwn(runTitle(run))} — paste it into the post-mortem, or \`preflight export rollback ${run.id} --format md\`.`)];
  blocks.push(...pieces.slice(0, MESSAGE_BLOCKS - 2).map((t) => section(t)));
  if (pieces.length > MESSAGE_BLOCKS - 2) blocks.push(context(`…the timeline is longer than one message: \`preflight export rollback ${run.id} --format md\` has all of it.`));
  return blocks;
}
