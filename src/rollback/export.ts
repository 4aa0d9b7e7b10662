import type { Queryable } from '../db/db.ts';
import { allSteps, parseRunRef, formatDuration, formatMinutes, phaseTimings, type Run, type RunEvent, type StepState } from './domain.ts';
import { nameAndId } from '../slack/names.ts';
import { events, loadRun } from './store.ts';

const iso = (d: Date) => d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
/** Table cells: one line, no pipe breaking the table. */
const cell = (s: string) => s.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();

/** Everyone a timeline names: who started and ended the run, resolved its steps, and acted in its log. */
export function timelinePeople(run: Run, steps: Map<string, StepState>, log: RunEvent[]): string[] {
  return [...new Set([run.startedBy, run.endedBy, ...[...steps.values()].map((s) => s.actor), ...log.map((e) => e.actor)].filter((u): u is string => !!u))];
}

/**
 * A run's timeline for the post-mortem, in plain Markdown: the phases against their budgets, every step in
 * plan order with who, when and why, and every recorded action in time order. `now` times a run still open;
 * people appear by name ("alice (U123)") where `names` knows them.
 */
export function timelineMarkdown(run: Run, steps: Map<string, StepState>, log: RunEvent[], now: Date, names: Map<string, string> = new Map()): string {
  const who = (id: string) => nameAndId(id, names);
  const drill = run.drill ? ' [DRILL]' : '';
  const end = run.endedAt ?? now;
  const budget = run.plan.phases.reduce((n, p) => n + (p.budget?.minutes ?? 0), 0);
  const out = [
    `# Rollback #${run.id}${drill}: ${run.plan.title}`,
    '',
    run.drill ? '**DRILL** — a rehearsal against the budgets; nobody was paged.\n' : '',
    `- Runbook: \`${run.runbookId}\`${run.plan.sectionKey ? ` (section \`${run.plan.sectionKey}\`)` : ''}`,
    `- Started: ${iso(run.startedAt)} by ${who(run.startedBy)}${run.reason ? ` — ${cell(run.reason)}` : ''}`,
    `- State: ${run.state}${run.endedAt ? ` at ${iso(run.endedAt)}` : ` (as of ${iso(now)})`}${run.state === 'aborted' ? ` by ${run.endedBy ? who(run.endedBy) : '?'} — ${cell(run.endReason ?? '')}` : ''}`,
    `- Total: ${formatDuration(end.getTime() - run.startedAt.getTime())}${budget ? ` against budgets of ${formatMinutes(budget)}` : ''}`,
  ].filter((l, i) => l !== '' || i < 2);
  const values = Object.entries(run.values);
  if (values.length) out.push(`- Values: ${values.map(([k, v]) => `\`<${k}>\` = \`${v}\``).join(', ')}`);

  out.push('', '## Phases', '', '| # | phase | budget | took | result |', '| --- | --- | --- | --- | --- |');
  phaseTimings(run, steps, now).forEach((t, i) => {
    const result = t.done < t.total ? `open (${t.done}/${t.total})` : t.over ? 'over budget' : t.phase.budget ? 'within budget' : 'done';
    out.push(`| ${i + 1} | ${cell(t.phase.title)} | ${t.phase.budget ? `${t.phase.budget.kind === 'limit' ? '< ' : '~'}${formatMinutes(t.phase.budget.minutes)}` : '–'} | ${formatDuration(t.elapsedMs)} | ${result} |`);
  });

  out.push('', '## Steps', '', '| phase | step | result | by | at | +since start | reason |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const phase of run.plan.phases) {
    for (const step of phase.steps) {
      const s = steps.get(step.key);
      const at = s?.at;
      out.push(`| ${cell(phase.title)} | ${cell(step.name)}${step.conditional ? ' (conditional)' : ''} | ${s?.status ?? 'pending'} | ${s?.actor ? who(s.actor) : ''} | ${at ? iso(at) : ''} | ${at ? formatDuration(at.getTime() - run.startedAt.getTime()) : ''} | ${cell(s?.reason ?? '')} |`);
    }
  }

  const stepNames = new Map(allSteps(run.plan).map((s) => [s.key, s.name]));
  const phases = new Map(run.plan.phases.map((p) => [p.key, p.title]));
  out.push('', '## Log', '');
  for (const e of log) {
    const what = {
      start: `started${e.reason ? `: ${cell(e.reason)}` : ''}`,
      done: `done: ${stepNames.get(e.stepKey ?? '') ?? e.stepKey}`,
      skip: `skipped: ${stepNames.get(e.stepKey ?? '') ?? e.stepKey} — ${cell(e.reason ?? '')}`,
      abort: `aborted: ${cell(e.reason ?? '')}`,
      complete: 'completed',
      overrun: `phase over budget: ${phases.get(e.stepKey ?? '') ?? e.stepKey}`,
      overdue: 'open past all budgets',
      reminder: `reminder: ${stepNames.get(e.stepKey ?? '') ?? e.stepKey} still open`,
    }[e.action];
    out.push(`- ${iso(e.at)} (+${formatDuration(e.at.getTime() - run.startedAt.getTime())}) ${e.actor ? who(e.actor) : 'Preflight'}: ${what}`);
  }
  return `${out.join('\n')}\n`;
}

/** The timeline of run `ref` (`12` or `#12`) from the database, or undefined when there is no such run. */
export async function exportRollback(q: Queryable, ref: string, now: Date, namesOf: (ids: string[]) => Promise<Map<string, string>> = async () => new Map()): Promise<string | undefined> {
  const id = parseRunRef(ref);
  const loaded = id === undefined ? undefined : await loadRun(q, id);
  if (!loaded) return undefined;
  const log = await events(q, loaded.run.id);
  return timelineMarkdown(loaded.run, loaded.steps, log, now, await namesOf(timelinePeople(loaded.run, loaded.steps, log)));
}
