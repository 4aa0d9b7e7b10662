import type { KnownBlock } from '@slack/types';
import { actions, button, context, header, section, splitMrkdwn } from '../slack/blocks.ts';
import { MESSAGE_BLOCKS } from '../slack/limits.ts';
import { escapeCode, escapeMrkdwn, slackDate, userMention } from '../slack/mrkdwn.ts';
import type { Rotation } from './rotation.ts';
import type { HistoryEntry, Swap } from './store.ts';

/** Action ids of /oncall's buttons, shared by blocks.ts and listeners.ts. */
export const ONCALL_ACTIONS = {
  swapAccept: 'oncall:swap_accept',
  swapDecline: 'oncall:swap_decline',
} as const;

/** Usage of /oncall (placeholders escaped: `<x>` would be read as a Slack link or mention). */
export const ONCALL_HELP = [
  '*/oncall* — who is on call, from the rotations in `oncall.yml`',
  '• `/oncall` — now and next for every rotation',
  '• `/oncall at &lt;date time&gt; [rotation]` — who is on call then: `2026-03-29 02:30` (read in the rotation\'s zone) or `2026-03-29T02:30+02:00`',
  '• `/oncall schedule [rotation] [weeks]` — the coming shifts (default 4 weeks)',
  '• `/oncall override @user &lt;from&gt; &lt;to&gt; [rotation]` — @user covers that window (for the people involved and admins)',
  '• `/oncall swap @user &lt;shift date&gt; [rotation]` — ask @user to take your shift on that date; they accept or decline',
  '• `/oncall calendar [rotation]` — your calendar feed URL (.ics)',
  '• `/oncall history [rotation]` — overrides and swaps, who made them and when',
  'Users can be @mentions or ids (`U0A1B2C3`). Times are shown in your own time zone.',
].join('\n');

const when = (d: Date) => slackDate(d, '{date_short_pretty} {time}');
const who = (userId: string | undefined) => (userId ? userMention(userId) : 'nobody');

/** One rotation's line for /oncall: who now (until when), who next (from when). */
export interface NowRow {
  rotation: Rotation;
  now?: { userId: string; until?: Date; override: boolean };
  next?: { userId: string; start: Date };
  /** When the first shift starts, for rotations that have not started. */
  startsAt?: Date;
}

/** `/oncall`: now and next for every rotation. */
export function nowBlocks(rows: NowRow[]): KnownBlock[] {
  if (!rows.length) return [section('No rotations are configured. Add them to `oncall.yml` in the runbooks folder (`/oncall help`).')];
  const lines = rows.map((r) => {
    const name = `*${escapeMrkdwn(r.rotation.name)}*`;
    if (!r.rotation.members.length) return `${name}: nobody (the rotation has no members)`;
    const now = r.now ? `${who(r.now.userId)}${r.now.override ? ' (override)' : ''}${r.now.until ? ` until ${when(r.now.until)}` : ''}` : `nobody${r.startsAt ? ` (first shift ${when(r.startsAt)})` : ''}`;
    const next = r.next ? `; next: ${who(r.next.userId)} from ${when(r.next.start)}` : '';
    return `${name}: ${now}${next}`;
  });
  return boundedSections(lines, 'rotations');
}

/** `/oncall at …`: who is on call at t in each rotation asked about; the first mention is the person on call. */
export function atBlocks(t: Date, rows: Array<{ rotation: Rotation; userId?: string; override: boolean }>): KnownBlock[] {
  const lines = rows.map((r) => `${who(r.userId)} is on call for *${escapeMrkdwn(r.rotation.name)}* at ${when(t)}${r.override ? ' (override)' : ''}`);
  return boundedSections(lines, 'rotations');
}

/** `/oncall schedule`: the coming stretches of on-call time. */
export function scheduleBlocks(rotation: Rotation, weeks: number, pieces: Array<{ start: Date; end: Date; userId: string; override: boolean }>): KnownBlock[] {
  const head = header(`${rotation.name}: the next ${weeks} week${weeks === 1 ? '' : 's'}`);
  if (!pieces.length) return [head, section(rotation.members.length ? 'Nobody is on call in this window (the rotation has not started).' : 'Nobody: the rotation has no members.')];
  const lines = pieces.map((p) => `${when(p.start)} → ${when(p.end)}  ${who(p.userId)}${p.override ? ' _(override)_' : ''}`);
  return [head, ...boundedSections(lines, 'shifts', MESSAGE_BLOCKS - 2), context(`Handoffs at ${escapeMrkdwn(rotation.handoff.time)} ${escapeMrkdwn(rotation.timezone)}, shown in your time zone.`)];
}

/** `/oncall history`: overrides and swaps, newest first. */
export function historyBlocks(rotationName: string | undefined, entries: HistoryEntry[], names: (id: string) => string): KnownBlock[] {
  const title = header(`On-call history${rotationName ? `: ${rotationName}` : ''}`);
  if (!entries.length) return [title, section('No overrides or swaps yet.')];
  const lines = entries.map((e) => {
    if (e.kind === 'override') {
      const o = e.override;
      return `${when(o.createdAt)} ${who(o.createdBy)} set ${who(o.userId)} on call for *${escapeMrkdwn(names(o.rotationId))}* ${when(o.start)} → ${when(o.end)}`;
    }
    const s = e.swap;
    const state = s.state === 'pending' ? 'asked' : s.state;
    return `${when(s.decidedAt ?? s.createdAt)} swap ${state}: ${who(s.requester)} → ${who(s.target)}, *${escapeMrkdwn(names(s.rotationId))}* shift ${when(s.shiftStart)} → ${when(s.shiftEnd)}`;
  });
  return [title, ...boundedSections(lines, 'entries', MESSAGE_BLOCKS - 1)];
}

/** The swap request the target sees, with Accept / Decline (value: the swap id). */
export function swapRequestBlocks(swap: Swap, rotation: Rotation): KnownBlock[] {
  return [
    section(`${who(swap.requester)} asks you to take their *${escapeMrkdwn(rotation.name)}* shift ${when(swap.shiftStart)} → ${when(swap.shiftEnd)}.`),
    actions([button('Accept', ONCALL_ACTIONS.swapAccept, { swap: swap.id }, 'primary'), button('Decline', ONCALL_ACTIONS.swapDecline, { swap: swap.id })], `oncall:swap:${swap.id}`),
  ];
}

/** What a decided swap request shows instead of its buttons. */
export function swapDecidedBlocks(swap: Swap, rotation: Rotation): KnownBlock[] {
  const verb = swap.state === 'accepted' ? '✅ Accepted' : '✖️ Declined';
  return [section(`${verb}: ${who(swap.requester)}'s *${escapeMrkdwn(rotation.name)}* shift ${when(swap.shiftStart)} → ${when(swap.shiftEnd)}${swap.state === 'accepted' ? ` is now ${who(swap.target)}'s` : ''}.`)];
}

/** The channel post at a handoff: "@bob is now on call until …; next: @carol". */
export function handoffText(o: { rotation: Rotation; userId?: string; until?: Date; nextUserId?: string; at: Date; late: boolean }): string {
  const name = escapeMrkdwn(o.rotation.name);
  if (!o.userId) return `Nobody is on call for *${name}* now.`;
  const late = o.late ? ` _(announced late: Preflight was not running at the handoff, ${when(o.at)})_` : '';
  return `${who(o.userId)} is now on call for *${name}*${o.until ? ` until ${when(o.until)}` : ''}${o.nextUserId ? `; next: ${who(o.nextUserId)}` : ''}.${late}`;
}

/** The DM a day before someone's shift. */
export function reminderText(rotation: Rotation, start: Date, end: Date | undefined): string {
  return `Heads-up: you are on call for *${escapeMrkdwn(rotation.name)}* from ${when(start)}${end ? ` until ${when(end)}` : ''}. \`/oncall swap @someone ${start.toISOString().slice(0, 10)}\` asks someone to take it.`;
}

/** The calendar URLs for /oncall calendar. */
export function calendarBlocks(links: Array<{ rotation: Rotation; url: string }>, configured: boolean): KnownBlock[] {
  const lines = links.map((l) => `*${escapeMrkdwn(l.rotation.name)}*: \`${escapeCode(l.url)}\``);
  const note = configured ? 'Subscribe to it in your calendar app. Keep it private: the token is the only key.' : 'Set `PUBLIC_URL` to the address that serves Preflight for a link that works from outside; the path and token stay the same.';
  return [...boundedSections(lines, 'rotations', MESSAGE_BLOCKS - 1), context(note)];
}

/** The App Home part: who is on call in each rotation, and the user's next shift. */
export function homeBlocks(rows: NowRow[], mine: { rotation: Rotation; start: Date; end: Date; now: boolean } | undefined): KnownBlock[] {
  if (!rows.length) return [];
  const shown = rows.slice(0, 10);
  const lines = shown.map((r) => `*${escapeMrkdwn(r.rotation.name)}*: ${r.now ? `${who(r.now.userId)}${r.now.until ? ` until ${when(r.now.until)}` : ''}` : 'nobody'}`);
  if (rows.length > shown.length) lines.push(`_…and ${rows.length - shown.length} more rotations: \`/oncall\` lists them all._`);
  const yours = mine
    ? mine.now
      ? `You are on call for *${escapeMrkdwn(mine.rotation.name)}* until ${when(mine.end)}.`
      : `Your next shift: *${escapeMrkdwn(mine.rotation.name)}*, ${when(mine.start)} → ${when(mine.end)}.`
    : 'You have no on-call shift in the next 8 weeks.';
  return [header('On call'), ...splitMrkdwn(lines.join('\n')).slice(0, 3).map((t) => section(t)), context(yours)];
}

/** Lines as sections within maxBlocks, saying how many were left out. */
function boundedSections(lines: string[], what: string, maxBlocks = MESSAGE_BLOCKS): KnownBlock[] {
  const pieces = splitMrkdwn(lines.join('\n'));
  if (pieces.length <= maxBlocks) return pieces.map((p) => section(p));
  const kept = pieces.slice(0, maxBlocks - 1);
  const shownLines = kept.join('\n').split('\n').length;
  return [...kept.map((p) => section(p)), context(`…${lines.length - shownLines} more ${what} not shown; ask for a shorter window or one rotation.`)];
}
