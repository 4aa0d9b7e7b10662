import { DateTime, IANAZone } from 'luxon';

// Pure rotation maths: no Bolt, no database, no clock of its own (callers pass `at`). Wall-clock times are
// handled as "local time read as UTC" milliseconds, so date arithmetic on them never sees a DST change; the
// zone's offsets come from Luxon's IANA zone (the platform's tz database), never written by hand.

export type Every = 'hour' | 'day' | 'week';

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A rotation as configured in oncall.yml (validated by config.ts). */
export interface Rotation {
  id: string;
  name: string;
  /** IANA zone the handoff time is read in. */
  timezone: string;
  handoff: { every: Every; interval: number; time: string; day?: Weekday };
  /** ISO date (YYYY-MM-DD): the first handoff is the first one on or after this date's midnight. */
  start: string;
  members: string[];
  channel?: string;
  usergroup?: string;
}

/** Who replaces the rotation's person for [start, end); later-made overrides win over earlier ones. */
export interface Override {
  userId: string;
  start: Date;
  end: Date;
  createdAt: Date;
}

/** Shift k: [start, end) held by `userId` (members[k mod n]). */
export interface Shift {
  index: number;
  start: Date;
  end: Date;
  userId: string;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const UNIT: Record<Every, number> = { hour: HOUR, day: DAY, week: 7 * DAY };

/**
 * The instant a wall-clock time (local-as-UTC ms) happens in zone: an ambiguous time (fall back) takes its
 * first occurrence; a time inside a gap (spring forward) moves to the first instant after the gap.
 */
export function resolveWall(zone: IANAZone, wall: number): number {
  // Every instant showing this wall time lies within [wall - 14 h, wall + 12 h] (the range of UTC offsets).
  const lo = zone.offset(wall - 14 * HOUR);
  const hi = zone.offset(wall + 12 * HOUR);
  // No change of offset in that window (the usual case): the one candidate is the answer.
  if (lo === hi) return wall - lo * 60_000;
  const candidates = [...new Set([lo, hi])]
    .map((o) => wall - o * 60_000)
    .filter((t) => zone.offset(t) * 60_000 === wall - t)
    .sort((a, b) => a - b);
  if (candidates.length) return candidates[0]!;
  // In the gap: the clock jumps from offset lo to hi somewhere in (wall - hi, wall - lo]; find that instant.
  let before = wall - Math.max(lo, hi) * 60_000;
  let after = wall - Math.min(lo, hi) * 60_000;
  const late = Math.max(lo, hi);
  while (after - before > 1) {
    const mid = Math.floor((before + after) / 2);
    if (zone.offset(mid) === late) after = mid;
    else before = mid;
  }
  return after;
}

/** The wall clock (local-as-UTC ms) an instant shows in zone. */
export function wallOf(zone: IANAZone, t: number): number {
  return t + zone.offset(t) * 60_000;
}

/** A rotation prepared for fast queries: its zone and the wall-clock time of handoff 0. */
export interface Plan {
  rotation: Rotation;
  zone: IANAZone;
  firstWall: number;
  stepMs: number;
  first: number;
}

/** Prepares a rotation (throws on an invalid zone, time or start; config.ts validates these first). */
export function plan(rotation: Rotation): Plan {
  const zone = IANAZone.create(rotation.timezone);
  if (!zone.isValid) throw new Error(`unknown time zone ${rotation.timezone}`);
  const [y, m, d] = rotation.start.split('-').map(Number) as [number, number, number];
  const [hh, mm] = rotation.handoff.time.split(':').map(Number) as [number, number];
  let firstWall = Date.UTC(y, m - 1, d, hh, mm);
  if (rotation.handoff.every === 'week') {
    const want = WEEKDAYS.indexOf(rotation.handoff.day ?? 'monday');
    // getUTCDay: 0 = Sunday; WEEKDAYS: 0 = Monday.
    const have = (new Date(firstWall).getUTCDay() + 6) % 7;
    firstWall += ((want - have + 7) % 7) * DAY;
  }
  const stepMs = UNIT[rotation.handoff.every] * rotation.handoff.interval;
  return { rotation, zone, firstWall, stepMs, first: resolveWall(zone, firstWall) };
}

const planOf = (r: Rotation | Plan): Plan => ('zone' in r ? r : plan(r));

/** The instant of handoff k (k ≥ 0): the handoff wall time k intervals after the first, resolved in the zone. */
export function handoffAt(r: Rotation | Plan, k: number): Date {
  const p = planOf(r);
  return new Date(resolveWall(p.zone, p.firstWall + k * p.stepMs));
}

/** The index of the shift holding instant t, or -1 before the first handoff. */
export function shiftIndexAt(r: Rotation | Plan, t: Date): number {
  const p = planOf(r);
  const at = t.getTime();
  if (at < p.first) return -1;
  // Wall-clock distance is real distance ± the zone's offset swing, so the estimate is off by a step or two.
  let k = Math.max(0, Math.floor((wallOf(p.zone, at) - p.firstWall) / p.stepMs));
  while (k > 0 && handoffAt(p, k).getTime() > at) k--;
  while (handoffAt(p, k + 1).getTime() <= at) k++;
  return k;
}

/** Shift k of the rotation (its member is `members[k mod n]`); undefined when k < 0 or nobody is a member. */
export function shift(r: Rotation | Plan, k: number): Shift | undefined {
  const p = planOf(r);
  const n = p.rotation.members.length;
  if (k < 0 || !n) return undefined;
  return { index: k, start: handoffAt(p, k), end: handoffAt(p, k + 1), userId: p.rotation.members[k % n]! };
}

/** The rotation's shift at t (before overrides); undefined before the start or with no members. */
export function shiftAt(r: Rotation | Plan, t: Date): Shift | undefined {
  const p = planOf(r);
  return shift(p, shiftIndexAt(p, t));
}

/** Shifts overlapping [from, to), in order. */
export function shiftsBetween(r: Rotation | Plan, from: Date, to: Date): Shift[] {
  const p = planOf(r);
  if (!p.rotation.members.length) return [];
  const out: Shift[] = [];
  const n = p.rotation.members.length;
  let k = Math.max(0, shiftIndexAt(p, from));
  // Each shift's end is the next one's start: one handoff computed per shift.
  for (let start = handoffAt(p, k); start < to; k++) {
    const end = handoffAt(p, k + 1);
    if (end > from && end > start) out.push({ index: k, start, end, userId: p.rotation.members[k % n]! });
    start = end;
  }
  return out;
}

/** The override in force at t: the latest made of those covering it. */
export function overrideAt(overrides: Override[], t: Date): Override | undefined {
  let best: Override | undefined;
  for (const o of overrides) {
    if (o.start <= t && t < o.end && (!best || o.createdAt >= best.createdAt)) best = o;
  }
  return best;
}

/** Who is on call at t: an override covering t, else the rotation's shift; undefined means nobody. */
export function onCallAt(r: Rotation | Plan, overrides: Override[], t: Date): { userId: string; until?: Date; override?: Override; shift?: Shift } | undefined {
  const o = overrideAt(overrides, t);
  const s = shiftAt(r, t);
  if (o) return { userId: o.userId, until: s && s.end < o.end ? s.end : o.end, override: o, shift: s };
  return s && { userId: s.userId, until: s.end, shift: s };
}

/** Shifts between from and to with overrides applied: each piece of time with its person (adjacent pieces merged). */
export function effectiveShifts(r: Rotation | Plan, overrides: Override[], from: Date, to: Date): Array<{ start: Date; end: Date; userId: string; override: boolean }> {
  const base = shiftsBetween(r, from, to);
  const cuts = new Set<number>([from.getTime(), to.getTime()]);
  for (const s of base) cuts.add(s.start.getTime()).add(s.end.getTime());
  for (const o of overrides) cuts.add(o.start.getTime()).add(o.end.getTime());
  const points = [...cuts].filter((c) => c >= from.getTime() && c <= to.getTime()).sort((a, b) => a - b);
  const out: Array<{ start: Date; end: Date; userId: string; override: boolean }> = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const mid = new Date(points[i]!);
    const who = onCallAt(r, overrides, mid);
    if (!who) continue;
    const last = out[out.length - 1];
    const isOverride = Boolean(who.override);
    if (last && last.userId === who.userId && last.override === isOverride && last.end.getTime() === points[i]) last.end = new Date(points[i + 1]!);
    else out.push({ start: mid, end: new Date(points[i + 1]!), userId: who.userId, override: isOverride });
  }
  return out;
}

/**
 * Reads a user's date-time: ISO 8601 with an offset (`2026-03-29T02:30+02:00`, `…Z`) as that instant, or a
 * plain date and time (`2026-03-29 02:30`, `2026-03-29T02:30`, or a date alone for midnight) in `zone`.
 * Returns undefined when it is not a date.
 */
export function parseWhen(text: string, zone: string): Date | undefined {
  const s = text.trim().replace(' ', 'T');
  if (/(Z|[+-]\d\d(:?\d\d)?)$/i.test(s) && /T/.test(s)) {
    const d = DateTime.fromISO(s, { setZone: true });
    return d.isValid ? d.toJSDate() : undefined;
  }
  const m = /^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d))?)?$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h = '0', mi = '0', sec = '0'] = m.slice(1).map((x) => x ?? undefined) as string[];
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
  const check = new Date(wall);
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59) return undefined;
  const z = IANAZone.create(zone);
  return new Date(resolveWall(z, wall));
}

/** A readable wall-clock time in the rotation's zone, e.g. "Mon 30 Mar 09:00 CEST" (plain text, for the .ics and logs). */
export function wallText(t: Date, zone: string): string {
  return DateTime.fromJSDate(t, { zone }).toFormat('ccc d LLL HH:mm ZZZZ');
}
