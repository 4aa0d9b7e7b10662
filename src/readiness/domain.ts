// Readiness as pure functions of checklist state: scores, blockers, gates, trend. No Bolt, no SQL; the clock is passed in.
import { isOverdue, RUNBOOK_ACTOR, type Instance, type ItemState } from '../checklist/domain.ts';
import { allSections, type Diagnostic, type Priority, type Runbook, type Section, type TaskItem } from '../runbooks/model.ts';

/** Ticked over total, and the percentage shown (rounded, 0–100). */
export interface Score {
  done: number;
  total: number;
  pct: number;
}

export interface SectionScore extends Score {
  key: string;
  /** "Pre-Launch Checklist › Infrastructure". */
  title: string;
  weight: number;
}

/** An unticked item, with what /readiness says about it. */
export interface OpenItem {
  key: string;
  /** Plain text (blocks.ts escapes it). */
  text: string;
  section: string;
  owner?: string;
  dueAt?: Date;
  overdue: boolean;
  priority?: Priority;
}

export type Blocker = { kind: 'item'; item: OpenItem } | { kind: 'section'; section: SectionScore };

export interface GateResult {
  name: string;
  go: boolean;
  /** How many items the gate covers. */
  required: number;
  missing: OpenItem[];
  /** References in front matter that name no section or item of the runbook (a gate with any is NO-GO). */
  unknown: string[];
}

/** What the runbook says of itself (its score table), shown beside the measured figures, never instead. */
export interface Declared {
  overall?: number;
  categories: Array<{ name: string; pct: number }>;
}

/** One day's stored figures of an instance. */
export interface Snapshot {
  /** YYYY-MM-DD in DIGEST_TIMEZONE. */
  day: string;
  done: number;
  total: number;
  score: number;
}

export interface Change {
  /** The snapshot's day. */
  since: string;
  /** True when that day is yesterday; otherwise the latest earlier snapshot was used. */
  yesterday: boolean;
  items: number;
  points: number;
}

export interface Readiness {
  instance: Instance;
  runbook: Runbook;
  /** `pct` is the weighted score when the runbook has weights, else done/total. */
  overall: Score & { weighted: boolean };
  sections: SectionScore[];
  blockers: Blocker[];
  gates: GateResult[];
  declared?: Declared;
  /** Calendar days from today to the launch date (negative once past). */
  daysLeft?: number;
  change?: Change;
  /** TREND_DAYS scores, oldest first; the last is now; undefined where no snapshot was taken. */
  trend: Array<number | undefined>;
}

export const TREND_DAYS = 14;

const percent = (done: number, total: number) => (total ? Math.round((done / total) * 100) : 0);

/** Section paths without decoration emoji ("✅ Phase 1 - COMPLETED" → "Phase 1 - COMPLETED"). */
export function cleanTitle(path: string[]): string {
  return path.map((p) => p.replace(/^[^\p{L}\p{N}]+/u, '').replace(/\s*[^\p{L}\p{N})\]]+$/u, '').trim() || p).join(' › ');
}

function normalise(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** The day of `at` in `zone`, as YYYY-MM-DD (en-CA formats dates that way; one formatter per zone). */
export function localDay(at: Date, zone: string): string {
  // The digest asks the same instant for every instance.
  if (lastDay.ms === at.getTime() && lastDay.zone === zone) return lastDay.day;
  let f = dayFormats.get(zone);
  if (!f) dayFormats.set(zone, (f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  lastDay = { ms: at.getTime(), zone, day: f.format(at) };
  return lastDay.day;
}
let lastDay = { ms: Number.NaN, zone: '', day: '' };

const DAY_MS = 86400e3;

/** The day `n` days before `day` (YYYY-MM-DD); calendar days, so plain UTC arithmetic is exact. */
export function dayBefore(day: string, n = 1): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - n * DAY_MS).toISOString().slice(0, 10);
}

/** Calendar days from today (in zone) to a YYYY-MM-DD launch date. */
export function daysUntil(launchDate: string, now: Date, zone: string): number {
  return daysFrom(localDay(now, zone), launchDate);
}

/** Calendar days from one YYYY-MM-DD day to another. */
function daysFrom(day: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${day}T00:00:00Z`)) / DAY_MS);
}

/** The priority an item inherits: its own "(HIGH PRIORITY)" or that of its section or an enclosing one. */
function priorityOf(item: TaskItem, sections: Map<string, Section>): Priority | undefined {
  const own = /\((critical|high|medium|low)\s+priority\)/i.exec(item.plain)?.[1]?.toLowerCase() as Priority | undefined;
  if (own) return own;
  const parts = item.sectionKey.split('/');
  for (let n = parts.length; n > 0; n--) {
    const p = sections.get(parts.slice(0, n).join('/'))?.priority;
    if (p) return p;
  }
  return undefined;
}

/** The items a gate reference means: an item key, a section key, or a section's title or path (emoji ignored). */
export function resolveRef(runbook: Runbook, ref: string): TaskItem[] {
  const item = runbook.tasks.find((t) => t.key === ref);
  if (item) return [item];
  const under = (key: string) => runbook.tasks.filter((t) => t.sectionKey === key || t.sectionKey.startsWith(`${key}/`));
  const q = normalise(ref);
  const section =
    allSections(runbook).find((s) => s.key === ref) ??
    allSections(runbook).find((s) => normalise(s.path.join(' ')) === q) ??
    allSections(runbook).find((s) => normalise(s.title) === q);
  return section ? under(section.key) : [];
}

/** The weight of an item: the weight of the deepest section named in `weights` that contains it (default 1). */
function weightOf(sectionKey: string, weights: Record<string, number>): number {
  const parts = sectionKey.split('/');
  for (let n = parts.length; n > 0; n--) {
    const w = weights[parts.slice(0, n).join('/')];
    if (w !== undefined) return w;
  }
  return 1;
}

/** The runbook's own score table (a table with a "Score" column of percentages), and its "Overall" row. */
export function declaredScores(runbook: Runbook): Declared | undefined {
  for (const section of [runbook.root, ...allSections(runbook)]) {
    for (const block of section.blocks) {
      if (block.kind !== 'table') continue;
      const col = block.header.findIndex((h) => /score|readiness/i.test(h));
      if (col < 0) continue;
      const declared: Declared = { categories: [] };
      for (const row of block.rows) {
        const m = /(\d{1,3}(?:\.\d+)?)\s*%/.exec(row[col] ?? '');
        if (!m) continue;
        const name = (row[0] ?? '').replace(/\*+/g, '').trim();
        const pct = Number(m[1]);
        if (/^(overall|total)$/i.test(name)) declared.overall = pct;
        else declared.categories.push({ name, pct });
      }
      if (declared.overall !== undefined || declared.categories.length) return declared;
    }
  }
  return undefined;
}

/** What to compute readiness with besides the checklist state. */
export interface ReadinessOptions {
  now: Date;
  /** DIGEST_TIMEZONE: what "today" and "yesterday" mean. */
  zone: string;
  /** The instance's snapshots (any order); today's is ignored in favour of the live figures. */
  snapshots?: Snapshot[];
}

/** What readiness needs of a runbook, worked out once per parsed runbook (the digest reads it for every instance). */
interface Plan {
  groups: Array<{ key: string; title: string; weight: number; items: TaskItem[] }>;
  itemSection: Map<string, string>;
  priority: Map<string, Priority | undefined>;
  gates: Array<{ name: string; keys: string[]; unknown: string[] }>;
  /** Every item key some gate covers. */
  gated: Set<string>;
  weighted: boolean;
  declared?: Declared;
}

const plans = new WeakMap<Runbook, Plan>();

function planOf(runbook: Runbook): Plan {
  const cached = plans.get(runbook);
  if (cached) return cached;
  const sections = new Map(allSections(runbook).map((s) => [s.key, s]));
  const weights = runbook.meta.weights ?? {};
  const bySection = new Map<string, TaskItem[]>();
  for (const t of runbook.tasks) {
    const list = bySection.get(t.sectionKey);
    if (list) list.push(t);
    else bySection.set(t.sectionKey, [t]);
  }
  const groups = [...bySection.entries()].map(([key, items]) => {
    const s = sections.get(key);
    return { key, title: s ? cleanTitle(s.path) : runbook.title, weight: weightOf(key, weights), items };
  });
  const gates = Object.entries(runbook.meta.gates ?? {}).map(([name, refs]) => {
    const keys = new Set<string>();
    const unknown: string[] = [];
    for (const ref of refs) {
      const items = resolveRef(runbook, ref);
      if (!items.length) unknown.push(ref);
      for (const i of items) keys.add(i.key);
    }
    return { name, keys: [...keys], unknown };
  });
  const plan: Plan = {
    groups,
    itemSection: new Map(runbook.tasks.map((t) => [t.key, cleanTitle(t.sectionPath.length ? t.sectionPath : [runbook.title])])),
    priority: new Map(runbook.tasks.map((t) => [t.key, priorityOf(t, sections)])),
    gates,
    gated: new Set(gates.flatMap((g) => g.keys)),
    weighted: Object.keys(weights).length > 0,
    declared: declaredScores(runbook),
  };
  plans.set(runbook, plan);
  return plan;
}

/** The day strings of the trend window ending `today`, oldest first (the same for every instance of a digest). */
function trendDays(today: string): string[] {
  if (trendMemo.today !== today) trendMemo = { today, days: Array.from({ length: TREND_DAYS }, (_, i) => dayBefore(today, TREND_DAYS - 1 - i)) };
  return trendMemo.days;
}
let trendMemo: { today: string; days: string[] } = { today: '', days: [] };

/**
 * Lint for readiness front matter: a gate reference that names no section or item keeps that gate NO-GO for
 * ever, so it is an error at the line of the front matter that names it.
 */
export function gateDiagnostics(runbook: Runbook, source: string): Diagnostic[] {
  const lines = source.split('\n');
  // Front matter runs from line 2 to the closing `---`; a reference is reported where it is first named there.
  const end = lines[0] === '---' ? lines.indexOf('---', 1) : -1;
  const lineOf = (ref: string) => {
    const i = lines.slice(1, Math.max(end, 1)).findIndex((l) => l.includes(ref));
    return i < 0 ? 1 : i + 2;
  };
  return planOf(runbook).gates.flatMap((g) =>
    g.unknown.map((ref) => ({ line: lineOf(ref), severity: 'error' as const, message: `gate "${g.name}" names "${ref}", which is no section or item of this runbook (the gate can never be GO)` })),
  );
}

/** Scores, blockers, gates, declared figures, days left, change and trend of one instance. */
export function readiness(instance: Instance, runbook: Runbook, state: Map<string, ItemState>, opts: ReadinessOptions): Readiness {
  const { now, zone } = opts;
  const plan = planOf(runbook);
  // Open items are described only where they are shown: blockers (overdue, high or critical) and gates.
  const open = new Map<string, OpenItem>();
  const sectionScores: SectionScore[] = plan.groups.map((g) => {
    let done = 0;
    for (const t of g.items) {
      const s = state.get(t.key);
      if (s ? s.checked : t.checked) {
        done++;
        continue;
      }
      const overdue = isOverdue(s, now);
      const priority = plan.priority.get(t.key);
      if (overdue || priority === 'high' || priority === 'critical' || plan.gated.has(t.key)) {
        open.set(t.key, { key: t.key, text: t.plain, section: plan.itemSection.get(t.key)!, owner: s?.owner, dueAt: s?.dueAt, overdue, priority });
      }
    }
    return { key: g.key, title: g.title, done, total: g.items.length, pct: percent(done, g.items.length), weight: g.weight };
  });

  let done = 0;
  let total = 0;
  let wDone = 0;
  let wTotal = 0;
  for (const s of sectionScores) {
    done += s.done;
    total += s.total;
    // Weights count each item of a section w times: still a plain ratio, Σ w·done / Σ w·total.
    wDone += s.weight * s.done;
    wTotal += s.weight * s.total;
  }
  const weighted = plan.weighted;
  const overall = { done, total, pct: weighted ? percent(wDone, wTotal) : percent(done, total), weighted };

  const itemBlockers: Blocker[] = [...open.values()]
    .filter((i) => i.overdue || i.priority === 'high' || i.priority === 'critical')
    .sort((a, b) => Number(b.overdue) - Number(a.overdue) || Number(b.priority === 'critical') - Number(a.priority === 'critical') || (a.dueAt?.getTime() ?? Infinity) - (b.dueAt?.getTime() ?? Infinity))
    .map((item) => ({ kind: 'item', item }));
  const sectionBlockers: Blocker[] = sectionScores.filter((s) => s.total > 0 && s.done === 0).map((section) => ({ kind: 'section', section }));

  const gates: GateResult[] = plan.gates.map((g) => {
    const missing = g.keys.flatMap((k) => open.get(k) ?? []);
    return { name: g.name, go: !missing.length && !g.unknown.length, required: g.keys.length, missing, unknown: g.unknown };
  });

  const today = localDay(now, zone);
  const snaps = (opts.snapshots ?? []).filter((s) => s.day < today).sort((a, b) => (a.day < b.day ? -1 : 1));
  const base = snaps.at(-1);
  const days = trendDays(today);
  const change = base && { since: base.day, yesterday: base.day === days[TREND_DAYS - 2], items: done - base.done, points: overall.pct - Math.round(base.score) };
  const byDay = new Map(snaps.map((s) => [s.day, s.score]));
  const trend = days.map((day, i) => (i === TREND_DAYS - 1 ? overall.pct : byDay.get(day)));

  return {
    instance,
    runbook,
    overall,
    sections: sectionScores,
    blockers: [...itemBlockers, ...sectionBlockers],
    gates,
    declared: plan.declared,
    daysLeft: instance.launchDate ? daysFrom(today, instance.launchDate) : undefined,
    change,
    trend,
  };
}

/** Most urgent first: the nearest launch date, then instances without one by lowest score, then by name. */
export function byUrgency(a: Readiness, b: Readiness): number {
  const da = a.daysLeft ?? Infinity;
  const db = b.daysLeft ?? Infinity;
  if (da !== db) return da - db;
  return a.overall.pct - b.overall.pct || a.instance.name.localeCompare(b.instance.name);
}

/** A 10-cell bar: `▓▓▓▓▓░░░░░`. */
export function bar(pct: number): string {
  const filled = Math.max(0, Math.min(10, Math.round(pct / 10)));
  return `${'▓'.repeat(filled)}${'░'.repeat(10 - filled)}`;
}

const SPARKS = '▁▂▃▄▅▆▇█';

/** A sparkline on an absolute 0–100 scale (a flat 36% stays low); `·` marks a day without a snapshot. */
export function sparkline(values: Array<number | undefined>): string {
  return values.map((v) => (v === undefined ? '·' : SPARKS[Math.min(7, Math.floor((v / 100) * 8))])).join('');
}

/** The figures a snapshot stores for an instance. */
export function snapshotOf(r: Readiness, day: string): Snapshot {
  return { day, done: r.overall.done, total: r.overall.total, score: r.overall.pct };
}

/** Ticks in the window, grouped by who ticked them (ticks from the file itself are not news). */
export interface RecentTicks {
  instanceId: string;
  name: string;
  actor: string;
  items: string[];
}

/** What was ticked since `since` and by whom, from an instance's history entries (newest first). */
export function recentTicks(
  instance: Instance,
  runbook: Runbook,
  entries: Array<{ itemKey?: string; action: string; actor: string; at: Date }>,
  state: Map<string, ItemState>,
  since: Date,
): RecentTicks[] {
  const text = new Map(runbook.tasks.map((t) => [t.key, t.plain]));
  const byActor = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const e of entries) {
    if (e.at < since || e.action !== 'tick' || !e.itemKey || e.actor === RUNBOOK_ACTOR || seen.has(e.itemKey)) continue;
    seen.add(e.itemKey);
    // An item ticked and unticked again in the window is not ticked now: leave it out.
    if (!state.get(e.itemKey)?.checked) continue;
    byActor.set(e.actor, [...(byActor.get(e.actor) ?? []), text.get(e.itemKey) ?? e.itemKey]);
  }
  return [...byActor.entries()].map(([actor, items]) => ({ instanceId: instance.id, name: instance.name, actor, items }));
}
