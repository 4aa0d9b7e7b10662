import { timingSafeEqual } from 'node:crypto';
import ical from 'ical-generator';
import { effectiveShifts, type Override, type Rotation } from './rotation.ts';

/** How far back and ahead the feed reaches: the current shift plus about three months. */
export const CALENDAR_BACK_DAYS = 14;
export const CALENDAR_AHEAD_DAYS = 92;

/** The .ics feed of a rotation: one event per stretch of on-call time, overrides marked, in UTC instants. */
export function calendarIcs(opts: { rotation: Rotation; overrides: Override[]; now: Date; nameOf: (userId: string) => string; host?: string }): string {
  const { rotation, now } = opts;
  const from = new Date(now.getTime() - CALENDAR_BACK_DAYS * 86_400_000);
  const to = new Date(now.getTime() + CALENDAR_AHEAD_DAYS * 86_400_000);
  const cal = ical({ name: `On call: ${rotation.name}`, prodId: { company: 'Preflight', product: 'oncall', language: 'EN' } });
  for (const piece of effectiveShifts(rotation, opts.overrides, from, to)) {
    const who = opts.nameOf(piece.userId);
    cal.createEvent({
      id: `${rotation.id}-${piece.start.toISOString()}-${piece.userId}@${opts.host ?? 'preflight'}`,
      start: piece.start,
      end: piece.end,
      summary: `${piece.override ? 'Override: ' : ''}${who} on call (${rotation.name})`,
      description: `${rotation.name}: ${who} is on call${piece.override ? ' (override)' : ''}. Handoff times in ${rotation.timezone}.`,
      stamp: now,
    });
  }
  return cal.toString();
}

/** Compares a presented token with the real one without leaking where they differ. */
export function tokenMatches(presented: string | null | undefined, real: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(real);
  return a.length === b.length && timingSafeEqual(a, b);
}
