// Checklist rules as pure functions: no Bolt, no SQL, an injectable clock.
import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import type { Runbook, Section, TaskItem } from '../runbooks/model.ts';
import { allSections } from '../runbooks/model.ts';
import { slug } from '../runbooks/parse.ts';

/** The stored state of one item of one instance. */
export interface ItemState {
  key: string;
  checked: boolean;
  /** Slack user id, or `runbook` for items ticked in the file. */
  checkedBy?: string;
  checkedAt?: Date;
  owner?: string;
  dueAt?: Date;
  /** The due date as the user wrote it ("launch-24h"), for display. */
  dueText?: string;
}

export interface Instance {
  id: string;
  runbookId: string;
  name: string;
  launchDate?: string;
  createdBy: string;
  createdAt: Date;
  /** Set once archived: hidden from lists and App Home, history kept. */
  archivedAt?: Date;
  archivedBy?: string;
}

/** Who may archive a checklist: whoever created it, or an admin. */
export function canArchive(instance: Instance, actor: string, admins: string[]): boolean {
  return instance.createdBy === actor || admins.includes(actor);
}

/** A section's task items: the unit a checklist message shows under one heading. */
export interface Group {
  section: Section | undefined;
  /** "Pre-Launch Checklist › Infrastructure". */
  title: string;
  items: TaskItem[];
}

/** The runbook author who ticked items in the file. */
export const RUNBOOK_ACTOR = 'runbook';

/** Task items grouped by the section they sit in, in document order. */
export function groupsOf(runbook: Runbook): Group[] {
  const bySection = new Map<string, TaskItem[]>();
  for (const item of runbook.tasks) bySection.set(item.sectionKey, [...(bySection.get(item.sectionKey) ?? []), item]);
  const sections = new Map(allSections(runbook).map((s) => [s.key, s]));
  return [...bySection.entries()].map(([key, items]) => {
    const section = sections.get(key);
    return { section, title: section ? cleanTitle(section.path) : runbook.title, items };
  });
}

/** Section paths without decoration emoji, which add noise in a progress line. */
function cleanTitle(path: string[]): string {
  return path.map((p) => p.replace(/^[^\p{L}\p{N}]+/u, '').replace(/\s*[^\p{L}\p{N})\]]+$/u, '').trim() || p).join(' › ');
}

/**
 * A short, stable id for an item in Block Kit option values. Keys run to 100 characters, and every click
 * carries the whole message back, so long values made each click tens of KiB larger to receive and parse.
 */
export function itemRef(key: string): string {
  return createHash('sha1').update(key).digest('base64url').slice(0, 12);
}

const refMaps = new WeakMap<Runbook, Map<string, string>>();

/** The runbook's item keys by ref, computed once per parsed runbook. */
export function keysByRef(runbook: Runbook): Map<string, string> {
  let map = refMaps.get(runbook);
  if (!map) refMaps.set(runbook, (map = new Map(runbook.tasks.map((t) => [itemRef(t.key), t.key]))));
  return map;
}

/** What one checkbox click changed: Slack sends the clicker's whole selection, so diff it against what they saw. */
export function deriveChange(shown: Iterable<string>, selected: Iterable<string>, options: Iterable<string>): { tick: string[]; untick: string[] } {
  const inElement = new Set(options);
  const before = new Set([...shown].filter((k) => inElement.has(k)));
  const after = new Set([...selected].filter((k) => inElement.has(k)));
  return {
    tick: [...after].filter((k) => !before.has(k)),
    untick: [...before].filter((k) => !after.has(k)),
  };
}

/** Who may untick an item somebody ticked: anyone, unless the runbook says `lock: owner`. */
export function canUntick(opts: { lock?: string; actor: string; tickedBy?: string; admins: string[] }): boolean {
  if (opts.lock !== 'owner') return true;
  return opts.tickedBy === undefined || opts.tickedBy === opts.actor || opts.admins.includes(opts.actor);
}

export interface Progress {
  done: number;
  total: number;
  overdue: number;
}

/** Done, total and overdue among items (state missing = as the file says). */
export function progress(items: TaskItem[], state: Map<string, ItemState>, now: Date): Progress {
  let done = 0;
  let overdue = 0;
  for (const item of items) {
    const s = state.get(item.key);
    const checked = s ? s.checked : item.checked;
    if (checked) done++;
    else if (s?.dueAt && s.dueAt < now) overdue++;
  }
  return { done, total: items.length, overdue };
}

/** True when an open item's due time has passed. */
export function isOverdue(s: ItemState | undefined, now: Date): boolean {
  return !!s && !s.checked && !!s.dueAt && s.dueAt < now;
}

/** A text progress bar, 10 cells wide. */
export function bar(p: Progress): string {
  const filled = p.total ? Math.round((p.done / p.total) * 10) : 0;
  return `${'▰'.repeat(filled)}${'▱'.repeat(10 - filled)}`;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:?\d{2})?$/;
const RELATIVE = /^(launch)?\s*([+-])\s*(\d+)\s*(h|d|w|hours?|days?|weeks?)$/i;

/** Why a date was refused, in words the user can act on. */
export class DueDateError extends Error {}

/** A launch date (YYYY-MM-DD) that really exists on the calendar. */
export function parseLaunchDate(text: string): string {
  if (!DATE.test(text)) throw new DueDateError(`"${text}" is not a date: write it as YYYY-MM-DD, e.g. 2026-12-01`);
  const d = new Date(`${text}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== text) throw new DueDateError(`${text} is not a day on the calendar`);
  return text;
}

/**
 * A due date: absolute (`2026-12-01`, `2026-12-01T15:00Z`), relative to the launch (`launch`, `launch-24h`,
 * `launch-2d`: from the start of the launch day) or to now (`+3d`). A date without a time means the end of that
 * day, and the launch day starts at midnight, both in the team's time zone (`zone`, TEAM_TIMEZONE).
 */
export function parseDue(text: string, launchDate: string | undefined, now: Date, zone = 'UTC'): Date {
  const t = text.trim();
  if (DATE.test(t)) return DateTime.fromISO(parseLaunchDate(t), { zone }).endOf('day').set({ millisecond: 0 }).toJSDate();
  if (DATETIME.test(t)) {
    const d = new Date(/(Z|[+-]\d{2}:?\d{2})$/.test(t) ? t.replace(' ', 'T') : `${t.replace(' ', 'T')}Z`);
    if (!Number.isNaN(d.getTime())) return d;
  }
  if (/^launch$/i.test(t)) return launchStart(launchDate, t, zone);
  const rel = RELATIVE.exec(t);
  if (rel) {
    const base = rel[1] ? launchStart(launchDate, t, zone) : now;
    const n = Number(rel[3]) * (rel[2] === '-' ? -1 : 1);
    const unit = rel[4]!.toLowerCase()[0];
    const ms = unit === 'h' ? 3600e3 : unit === 'd' ? 86400e3 : 7 * 86400e3;
    return new Date(base.getTime() + n * ms);
  }
  throw new DueDateError(`"${text}" is not a due date: use YYYY-MM-DD, YYYY-MM-DDTHH:MMZ, launch, launch-24h, launch-2d or +3d`);
}

/** What a due rule counts from, in words for a confirmation. */
export function dueBasis(text: string): string {
  const t = text.trim();
  if (DATE.test(t)) return 'the end of that day';
  if (/^launch/i.test(t)) return 'counted from the start of the launch day';
  if (RELATIVE.test(t)) return 'counted from now';
  return '';
}

function launchStart(launchDate: string | undefined, text: string, zone: string): Date {
  if (!launchDate) throw new DueDateError(`"${text}" is relative to the launch, but this checklist has no launch date: create it with \`launch YYYY-MM-DD\``);
  return DateTime.fromISO(launchDate, { zone }).startOf('day').toJSDate();
}

const MAX_INSTANCE_ID = 60;

/** An instance id from its name: lower-case slug, so it can be typed; a long one is cut between words. */
export function instanceId(name: string): string {
  const id = slug(name);
  if (id.length <= MAX_INSTANCE_ID) return id;
  const cut = id.lastIndexOf('-', MAX_INSTANCE_ID);
  return id.slice(0, cut > 0 ? cut : MAX_INSTANCE_ID);
}

/**
 * The name and launch date of `/checklist new <runbook> <name> [launch YYYY-MM-DD]`. `launch` is the keyword
 * only when a date (anything starting with a digit) follows it, so "Launch party" and "Mobile launch" are names.
 */
export function nameAndLaunch(words: string[]): { name: string; launchDate?: string } {
  for (let at = words.length - 2; at >= 0; at--) {
    if (words[at]!.toLowerCase() === 'launch' && /^\d/.test(words[at + 1]!)) {
      return { name: [...words.slice(0, at), ...words.slice(at + 2)].join(' ').trim(), launchDate: parseLaunchDate(words[at + 1]!) };
    }
  }
  return { name: words.join(' ').trim() };
}

/** Items whose key or text matches the query: exact key, key tail, then all words of the text. */
export function findItems(items: TaskItem[], query: string): TaskItem[] {
  const q = query.trim().toLowerCase();
  const exact = items.filter((i) => i.key.toLowerCase() === q || i.key.toLowerCase().endsWith(`/${q}`));
  if (exact.length) return exact;
  const words = normalise(q).split(' ').filter(Boolean);
  if (!words.length) return [];
  const byText = items.filter((i) => normalise(i.plain) === normalise(q));
  if (byText.length) return byText;
  return items.filter((i) => {
    const text = normalise(i.plain);
    return words.every((w) => text.includes(w));
  });
}

/** Items of the section whose title matches query (for a due date on a whole section). */
export function findSectionItems(runbook: Runbook, query: string): TaskItem[] {
  const q = normalise(query);
  const section = allSections(runbook).find((s) => normalise(s.title) === q || normalise(s.title).includes(q));
  if (!section) return [];
  const prefix = section.key;
  return runbook.tasks.filter((t) => t.sectionKey === prefix || t.sectionKey.startsWith(`${prefix}/`));
}

function normalise(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}
