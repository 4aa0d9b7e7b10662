import { createHash } from 'node:crypto';
import { slug } from '../runbooks/parse.ts';
import type { Block, Budget, ListItem, Runbook, Section } from '../runbooks/model.ts';

// The rollback plan model and the rules of a tracked run: pure functions, the clock passed in.

/** One thing to do in a phase: a bullet, or a group of commands named by its comment lines. */
export interface PlanStep {
  /** Stable key like a checklist item's: `<phase>/<step>` slugs (becomes part of action ids). */
  key: string;
  /** Plain text: the comment lines of a command group, or the bullet's text. */
  name: string;
  /** "only if …" / "if needed": done when it applies, skipped when not. */
  conditional: boolean;
  /** Command lines exactly as written (empty for a bullet). */
  commands: string[];
  /** Placeholders used in the commands, e.g. `previous-commit` for `<previous-commit>`. */
  placeholders: string[];
  /** "within 24 hours" in the step: minutes after the run's start when a reminder is due. */
  dueMinutes?: number;
}

export interface PlanPhase {
  key: string;
  /** The phase's title without its budget ("Immediate Actions"). */
  title: string;
  budget?: Budget;
  steps: PlanStep[];
}

/** A rollback plan: a runbook of `kind: rollback`, or a "Rollback…" section of any runbook. */
export interface Plan {
  runbookId: string;
  /** The section it comes from ('' for a whole `kind: rollback` runbook). */
  sectionKey: string;
  title: string;
  /** The runbook's `owner` front matter (who answers until /oncall knows better). */
  owner?: string;
  phases: PlanPhase[];
  /** Every placeholder of the plan, in order of first use. */
  placeholders: string[];
}

// The two phrases; "(if applicable)" stays a plain step, to be done or skipped with a reason.
const CONDITIONAL = /\b(only if|if needed)\b/i;
const PLACEHOLDER = /<([A-Za-z][\w.-]*)>/g;
const WITHIN = /\bwithin\s+(\d+(?:\.\d+)?)\s*(minutes?|mins?|hours?|hrs?|h|days?|d)\b/i;
const BUDGET_TEXT = /\s*\((?:\s*(?:<|≤|<=|under|within|max\.?)\s*\d[^)]*)\)\s*/i;
const MAX_KEY = 100;

/** Every rollback plan of a runbook: the whole runbook when `kind: rollback`, else each "Rollback…" section. */
export function plansOf(runbook: Runbook): Plan[] {
  if (String(runbook.meta.kind ?? '').toLowerCase() === 'rollback') return [planOf(runbook, runbook.root, runbook.title)];
  const out: Plan[] = [];
  const walk = (s: Section) => {
    for (const c of s.children) {
      if (/^rollback\b/i.test(headingWords(c.title))) out.push(planOf(runbook, c, c.title));
      else walk(c);
    }
  };
  walk(runbook.root);
  return out.filter((p) => p.phases.some((ph) => ph.steps.length));
}

/** A heading without its leading emoji and punctuation ("🆘 Rollback Plan" → "Rollback Plan"). */
function headingWords(title: string): string {
  return title.replace(/^[^\p{L}\p{N}]+/u, '');
}

function planOf(runbook: Runbook, section: Section, title: string): Plan {
  const keys = new Set<string>();
  const phases: PlanPhase[] = [];
  const addPhase = (rawTitle: string, budget: Budget | undefined, blocks: Block[]) => {
    const phaseTitle = rawTitle.replace(BUDGET_TEXT, ' ').replace(/\s+/g, ' ').trim() || `Phase ${phases.length + 1}`;
    const phaseKey = unique(slug(phaseTitle) || `phase-${phases.length + 1}`, keys);
    const stepKeys = new Set<string>();
    const steps = stepsOf(blocks).map((s) => ({ ...s, key: stepKey(phaseKey, s.name, stepKeys) }));
    phases.push({ key: phaseKey, title: phaseTitle, budget, steps });
  };
  // Phases are the section's ordered list items; failing that, its subsections.
  const ordered = section.blocks.find((b): b is Extract<Block, { kind: 'list' }> => b.kind === 'list' && b.ordered);
  if (ordered) {
    for (const item of ordered.items) addPhase(item.plain, item.budget, item.blocks);
  } else if (section.children.length) {
    for (const child of section.children) addPhase(child.title, child.budget, [...child.blocks, ...child.children.flatMap((c) => c.blocks)]);
  } else {
    addPhase(title, section.budget, section.blocks);
  }
  const placeholders = [...new Set(phases.flatMap((p) => p.steps.flatMap((s) => s.placeholders)))];
  const owner = typeof runbook.meta.owner === 'string' ? runbook.meta.owner : undefined;
  return { runbookId: runbook.id, sectionKey: section.key, title: title || runbook.title, owner, phases, placeholders };
}

type Unkeyed = Omit<PlanStep, 'key'>;

/** Steps of a phase's content: each bullet, and each command group of each code block, in order. */
function stepsOf(blocks: Block[]): Unkeyed[] {
  const out: Unkeyed[] = [];
  for (const b of blocks) {
    if (b.kind === 'code') out.push(...commandGroups(b.code));
    else if (b.kind === 'list') for (const item of b.items) out.push(bulletStep(item), ...stepsOf(item.blocks));
  }
  return out;
}

function bulletStep(item: ListItem): Unkeyed {
  const name = item.plain.replace(/\s+/g, ' ').trim();
  return step(name, []);
}

/** Blank lines separate groups; comment lines name the step; the other lines are its commands, verbatim. */
export function commandGroups(code: string): Unkeyed[] {
  const groups: string[][] = [[]];
  for (const line of code.split('\n')) {
    if (line.trim() === '') groups.push([]);
    else groups[groups.length - 1]!.push(line);
  }
  return groups
    .filter((g) => g.length)
    .map((lines) => {
      const comments = lines.filter((l) => /^\s*#/.test(l)).map((l) => l.replace(/^\s*#+\s*/, '').trim()).filter(Boolean);
      const commands = lines.filter((l) => !/^\s*#/.test(l)).map((l) => l.replace(/\s+$/, ''));
      return step(comments.join(' — ') || commands[0]!.trim(), commands);
    });
}

function step(name: string, commands: string[]): Unkeyed {
  const placeholders = [...new Set(commands.flatMap((c) => [...c.matchAll(PLACEHOLDER)].map((m) => m[1]!)))];
  const within = WITHIN.exec(name);
  const dueMinutes = within ? minutes(Number(within[1]), within[2]!) : undefined;
  return { name, conditional: CONDITIONAL.test(name), commands, placeholders, ...(dueMinutes ? { dueMinutes } : {}) };
}

function minutes(value: number, unit: string): number {
  const u = unit.toLowerCase();
  if (u.startsWith('h')) return value * 60;
  if (u.startsWith('d')) return value * 24 * 60;
  return value;
}

function stepKey(phaseKey: string, name: string, taken: Set<string>): string {
  let key = `${phaseKey}/${slug(name) || 'step'}`;
  // Long names keep a readable head plus a hash, so keys stay short (they become action ids).
  if (key.length > MAX_KEY) key = `${key.slice(0, MAX_KEY - 9)}-${createHash('sha1').update(key).digest('hex').slice(0, 8)}`;
  return unique(key, taken);
}

function unique(base: string, taken: Set<string>): string {
  let key = base;
  for (let n = 2; taken.has(key); n++) key = `${base}-${n}`;
  taken.add(key);
  return key;
}

/** A command with the run's placeholder values filled in; unfilled placeholders stay as written. */
export function fillCommand(command: string, values: Record<string, string>): string {
  return command.replace(PLACEHOLDER, (whole, name: string) => (values[name]?.trim() ? values[name]!.trim() : whole));
}

/** Every step of the plan in order. */
export function allSteps(plan: Plan): PlanStep[] {
  return plan.phases.flatMap((p) => p.steps);
}

// ───────────────────────────── runs ─────────────────────────────

export type RunState = 'open' | 'completed' | 'aborted';
export type StepStatus = 'pending' | 'done' | 'skipped';

/** A tracked rollback as stored: the plan is kept as it was at the start, so later edits cannot change a run. */
export interface Run {
  id: number;
  runbookId: string;
  plan: Plan;
  channel: string;
  ts?: string;
  startedBy: string;
  startedAt: Date;
  reason?: string;
  drill: boolean;
  values: Record<string, string>;
  state: RunState;
  endedAt?: Date;
  endedBy?: string;
  endReason?: string;
}

export interface StepState {
  key: string;
  status: StepStatus;
  actor?: string;
  at?: Date;
  reason?: string;
}

/** One recorded action, for the thread and the timeline. */
export interface RunEvent {
  id: number;
  action: 'start' | 'done' | 'skip' | 'abort' | 'complete' | 'overrun' | 'overdue' | 'reminder';
  stepKey?: string;
  actor?: string;
  reason?: string;
  at: Date;
}

/** When each phase is due: budgets add up from the run's start, so the plan is a timeline ("< 5", then "< 15"). */
export function phaseDeadlines(plan: Plan, startedAt: Date): Map<string, Date> {
  const out = new Map<string, Date>();
  let minutesIn = 0;
  for (const phase of plan.phases) {
    if (!phase.budget) continue;
    minutesIn += phase.budget.minutes;
    out.set(phase.key, new Date(startedAt.getTime() + minutesIn * 60_000));
  }
  return out;
}

/** When the run is past every budget of its plan (undefined when the plan has none). */
export function allBudgetsEnd(plan: Plan, startedAt: Date): Date | undefined {
  const total = plan.phases.reduce((n, p) => n + (p.budget?.minutes ?? 0), 0);
  return total ? new Date(startedAt.getTime() + total * 60_000) : undefined;
}

/** Reminders a plan asks for ("Post-mortem within 24 hours"): step key and time. */
export function reminders(plan: Plan, startedAt: Date): Array<{ stepKey: string; at: Date }> {
  return allSteps(plan).flatMap((s) => (s.dueMinutes ? [{ stepKey: s.key, at: new Date(startedAt.getTime() + s.dueMinutes * 60_000) }] : []));
}

export interface PhaseTiming {
  phase: PlanPhase;
  /** When its work began: the run's start, or when the phase before it finished. */
  startedAt: Date;
  /** When its last step was done or skipped; undefined while open. */
  finishedAt?: Date;
  /** Milliseconds spent: to its finish, or to now while open. */
  elapsedMs: number;
  /** When the plan says it should be done (cumulative budgets). */
  dueAt?: Date;
  /** Past its budget: finished after its due time, or still open after it. */
  over: boolean;
  done: number;
  total: number;
}

/** Phase by phase: how long each took against its budget, as of `now`. */
export function phaseTimings(run: Pick<Run, 'plan' | 'startedAt' | 'endedAt'>, steps: Map<string, StepState>, now: Date): PhaseTiming[] {
  const deadlines = phaseDeadlines(run.plan, run.startedAt);
  let from = run.startedAt;
  const end = run.endedAt ?? now;
  return run.plan.phases.map((phase) => {
    const states = phase.steps.map((s) => steps.get(s.key));
    const resolved = states.filter((s) => s && s.status !== 'pending');
    const finished = resolved.length === phase.steps.length;
    const finishedAt = finished ? new Date(Math.max(from.getTime(), ...resolved.map((s) => s!.at?.getTime() ?? 0))) : undefined;
    const startedAt = from;
    const stop = finishedAt ?? end;
    const dueAt = deadlines.get(phase.key);
    if (finishedAt) from = finishedAt;
    return {
      phase,
      startedAt,
      finishedAt,
      elapsedMs: Math.max(0, stop.getTime() - startedAt.getTime()),
      dueAt,
      over: !!dueAt && stop.getTime() > dueAt.getTime(),
      done: resolved.length,
      total: phase.steps.length,
    };
  });
}

/** "4m 05s", "1h 02m", "12s": short durations for the run message and the timeline. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, '0')}m`;
}

/** "5 min", "1.5 h": a budget in minutes, short. */
export function formatMinutes(minutes: number): string {
  if (minutes < 60) return `${Math.round(minutes * 10) / 10} min`;
  return `${Math.round((minutes / 60) * 10) / 10} h`;
}

/** Who may abort a run: whoever started it, whoever is on call now, and ADMIN_USERS. */
export function mayAbort(run: Pick<Run, 'startedBy'>, user: string, onCall: string[], admins: string[]): boolean {
  return user === run.startedBy || onCall.includes(user) || admins.includes(user);
}

/** A run reference as users type it: `12`, `#12`, `run-12`. */
export function parseRunRef(text: string | undefined): number | undefined {
  const m = /^(?:#|run-?)?(\d{1,12})$/i.exec(text?.trim() ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Placeholder values a user typed: one line, no backticks (they go inside code blocks), empty ones dropped, at most 500 characters. */
export function cleanValues(plan: Plan, raw: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of plan.placeholders) {
    const v = raw[name]?.replace(/`/g, "'").replace(/\s+/g, ' ').trim();
    if (v) out[name] = v.slice(0, 500);
  }
  return out;
}
