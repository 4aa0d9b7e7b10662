import type { ActionsBlock, Checkboxes, KnownBlock, MrkdwnOption } from '@slack/types';
import type { Runbook, TaskItem } from '../runbooks/model.ts';
import { actions, button, clip, context, header, section, splitMrkdwn } from '../slack/blocks.ts';
import { CHECKBOX_OPTIONS, CONTEXT_ELEMENTS, CONTEXT_TEXT, MESSAGE_BLOCKS, OPTION_TEXT, SECTION_TEXT, VIEW_BLOCKS } from '../slack/limits.ts';
import { escapeCode, escapeMrkdwn, slackDate, userMention } from '../slack/mrkdwn.ts';
import { bar, groupsOf, isOverdue, itemRef, progress, RUNBOOK_ACTOR, type Group, type Instance, type ItemState } from './domain.ts';
import type { HistoryEntry } from './store.ts';

/** Action ids: every checkboxes element is `checklist:tick:<n>`; its block id names the instance. */
export const CHECKLIST_ACTIONS = {
  tickPrefix: 'checklist:tick:',
  tick: /^checklist:tick:/,
  archiveConfirm: 'checklist:archive:confirm',
  archiveCancel: 'checklist:archive:cancel',
} as const;

/** `/checklist archive <id>`: what archiving does, and a confirm button (destructive actions are confirmed). */
export function archiveConfirmBlocks(instance: Instance, done: number, total: number): KnownBlock[] {
  return [
    section(`🗄 Archive *${escapeMrkdwn(instance.name)}* (\`${escapeCode(instance.id)}\`, ${done}/${total} done)? It leaves \`/checklist\` and App Home; its items and history are kept (\`/checklist history ${escapeCode(instance.id)}\`).`),
    actions([
      { ...button('Archive', CHECKLIST_ACTIONS.archiveConfirm, { id: instance.id }, 'danger'), confirm: { title: { type: 'plain_text', text: 'Archive this checklist?' }, text: { type: 'plain_text', text: clip(`${instance.name} will be hidden from lists and App Home.`, 300) }, confirm: { type: 'plain_text', text: 'Archive' }, deny: { type: 'plain_text', text: 'Keep it' } } },
      button('Keep it', CHECKLIST_ACTIONS.archiveCancel, { id: instance.id }),
    ]),
  ];
}

/** `cl:<n>:<instance id>`: unique in a message, and tells the listener which instance a click is for. */
export function tickBlockId(n: number, instanceId: string): string {
  return `cl:${n}:${instanceId}`;
}

/** The instance a checkboxes block belongs to, from its block id. */
export function instanceOfBlock(blockId: string): string | undefined {
  const m = /^cl:\d+:(.+)$/.exec(blockId);
  return m?.[1];
}

/** Blocks a message reserves around the groups: header, summary context, and a closing context. */
const FRAME_BLOCKS = 3;

/** One page's share of the checklist: groups, or a run of one long group's items. */
interface Slice {
  group: Group;
  items: TaskItem[];
  continued: boolean;
}

/**
 * Lays groups out on pages from the runbook alone (never from state), so page n shows the same items
 * whenever it is re-rendered. Each slice costs a title, one block per 10 items and an attribution line.
 */
export function layout(groups: Group[], maxBlocks = MESSAGE_BLOCKS - FRAME_BLOCKS): Slice[][] {
  const pages: Slice[][] = [];
  let page: Slice[] = [];
  let used = 0;
  for (const group of groups) {
    let rest = group.items;
    let continued = false;
    while (rest.length) {
      const room = maxBlocks - used - 2;
      const fit = Math.min(rest.length, Math.max(0, room) * CHECKBOX_OPTIONS);
      // Start a new page rather than put a group's title with only a few of its items at the bottom.
      if (fit < Math.min(rest.length, CHECKBOX_OPTIONS) && page.length) {
        pages.push(page);
        page = [];
        used = 0;
        continue;
      }
      const items = rest.slice(0, fit);
      page.push({ group, items, continued });
      used += 2 + Math.ceil(items.length / CHECKBOX_OPTIONS);
      rest = rest.slice(fit);
      continued = true;
    }
  }
  if (page.length || !pages.length) pages.push(page);
  return pages;
}

/** Groups shown for a section filter: the section's own and its subsections'. */
export function groupsFor(runbook: Runbook, sectionKey?: string): Group[] {
  const groups = groupsOf(runbook);
  if (!sectionKey) return groups;
  return groups.filter((g) => g.section && (g.section.key === sectionKey || g.section.key.startsWith(`${sectionKey}/`)));
}

function escapedClip(text: string, max: number): { text: string; clipped: boolean } {
  let cut = text;
  let escaped = escapeMrkdwn(cut);
  while ([...escaped].length > max) {
    cut = clip(text, [...cut].length - 1);
    escaped = escapeMrkdwn(cut);
  }
  return { text: escaped, clipped: cut !== text };
}

function option(item: TaskItem, s: ItemState | undefined, now: Date): { option: MrkdwnOption; clipped: boolean } {
  const overdue = isOverdue(s, now);
  const mark = overdue ? '🔴 ' : s?.dueAt && !s.checked ? '📅 ' : '';
  const full = item.mrkdwn.replace(/\n/g, ' ');
  const fits = [...mark].length + [...full].length <= OPTION_TEXT;
  const label = fits ? { text: `${mark}${full}`, clipped: false } : escapedClip(item.plain.replace(/\n/g, ' '), OPTION_TEXT - [...mark].length);
  const opt: MrkdwnOption = { text: { type: 'mrkdwn', text: fits ? label.text : `${mark}${label.text}` }, value: itemRef(item.key) };
  // A description is plain text (no Slack dates), so due times go in the small print; this says who ticked it.
  if (s?.checked && (s.checkedBy === RUNBOOK_ACTOR || !s.checkedBy)) opt.description = { type: 'plain_text', text: 'ticked in the runbook' };
  return { option: opt, clipped: !fits };
}

/** Who ticked what and when, owners, due dates, and the full text of items too long for a checkbox: small print under a group. */
function attribution(items: TaskItem[], state: Map<string, ItemState>, clipped: Set<string>, now: Date): string[] {
  const lines: string[] = [];
  for (const item of items) {
    const s = state.get(item.key);
    const name = clip(item.plain.replace(/\n/g, ' '), 40);
    const parts: string[] = [];
    // Ticked in the file is said on the checkbox itself; saying it again here listed it twice.
    if (s?.checked && s.checkedBy && s.checkedBy !== RUNBOOK_ACTOR) parts.push(`☑ ${userMention(s.checkedBy)}${s.checkedAt ? ` ${slackDate(s.checkedAt)}` : ''}`);
    if (s?.owner) parts.push(`👤 ${userMention(s.owner)}`);
    if (s?.dueAt && !s.checked) parts.push(`${isOverdue(s, now) ? '🔴 overdue since' : '📅 due'} ${slackDate(s.dueAt)}`);
    if (clipped.has(item.key)) lines.push(`• ${item.mrkdwn.replace(/\n/g, ' ')}${parts.length ? ` — ${parts.join(' · ')}` : ''}`);
    else if (parts.length) lines.push(`• _${escapeMrkdwn(name)}_ — ${parts.join(' · ')}`);
  }
  return lines;
}

/** Lines packed into context elements within Slack's limits; what would not fit is said, not dropped. */
function contextLines(lines: string[]): KnownBlock | undefined {
  if (!lines.length) return undefined;
  const parts = splitMrkdwn(lines.join('\n'), CONTEXT_TEXT);
  if (parts.length > CONTEXT_ELEMENTS) {
    const kept = parts.slice(0, CONTEXT_ELEMENTS - 1);
    kept.push(`…and more: \`/checklist history\` has every change`);
    return context(...kept);
  }
  return context(...parts);
}

function checkboxes(items: TaskItem[], state: Map<string, ItemState>, n: number, instanceId: string, now: Date, clipped: Set<string>): ActionsBlock {
  const opts: MrkdwnOption[] = [];
  const initial: MrkdwnOption[] = [];
  for (const item of items) {
    const s = state.get(item.key);
    const o = option(item, s, now);
    if (o.clipped) clipped.add(item.key);
    opts.push(o.option);
    if (s ? s.checked : item.checked) initial.push(o.option);
  }
  const element: Checkboxes = { type: 'checkboxes', action_id: `${CHECKLIST_ACTIONS.tickPrefix}${n}`, options: opts, ...(initial.length ? { initial_options: initial } : {}) };
  return actions([element], tickBlockId(n, instanceId));
}

export interface ChecklistView {
  instance: Instance;
  runbook: Runbook;
  state: Map<string, ItemState>;
  now: Date;
  sectionKey?: string;
}

/** The pages of an instance as messages: header, progress, then each group with its checkboxes and small print. */
export function checklistPages(v: ChecklistView): KnownBlock[][] {
  const groups = groupsFor(v.runbook, v.sectionKey);
  const all = progress(groups.flatMap((g) => g.items), v.state, v.now);
  const pages = layout(groups);
  let n = 0;
  return pages.map((slices, p) => {
    const blocks: KnownBlock[] = [header(`☑ ${v.instance.name}`)];
    const summary = [
      `\`${escapeCode(v.instance.id)}\``,
      `*${all.done}/${all.total}* done ${bar(all)}`,
      all.overdue ? `🔴 *${all.overdue} overdue*` : '',
      v.instance.launchDate ? `🚀 launch ${slackDate(new Date(`${v.instance.launchDate}T00:00:00Z`), '{date_short_pretty}')}` : '',
      pages.length > 1 ? `page ${p + 1} of ${pages.length}` : '',
    ];
    blocks.push(context(summary.filter(Boolean).join('  ·  ')));
    if (!slices.length) blocks.push(section('_This runbook has no `- [ ]` items in that section._'));
    for (const slice of slices) {
      const pr = progress(slice.group.items, v.state, v.now);
      const title = `*${escapeMrkdwn(slice.group.title)}*${slice.continued ? ' _(continued)_' : ''}  ${pr.done}/${pr.total}${pr.overdue ? `  🔴 ${pr.overdue} overdue` : ''}`;
      blocks.push(section(splitMrkdwn(title, SECTION_TEXT)[0]!));
      const clipped = new Set<string>();
      for (let i = 0; i < slice.items.length; i += CHECKBOX_OPTIONS) {
        blocks.push(checkboxes(slice.items.slice(i, i + CHECKBOX_OPTIONS), v.state, n++, v.instance.id, v.now, clipped));
      }
      const small = contextLines(attribution(slice.items, v.state, clipped, v.now));
      if (small) blocks.push(small);
    }
    return blocks;
  });
}

export interface InstanceSummary {
  instance: Instance;
  runbook?: Runbook;
  done: number;
  total: number;
  overdue: number;
}

/** `/checklist`: every instance with its progress. */
export function instanceListBlocks(list: InstanceSummary[]): KnownBlock[] {
  if (!list.length) return [section('No checklists yet. Any runbook with `- [ ]` items is one: `/runbook` lists them.')];
  const lines = list.map((s) => {
    const p = { done: s.done, total: s.total, overdue: s.overdue };
    const gone = s.runbook ? '' : ' _(runbook removed)_';
    return `• *${escapeMrkdwn(s.instance.name)}* \`${escapeCode(s.instance.id)}\`  ${s.done}/${s.total} ${bar(p)}${s.overdue ? `  🔴 ${s.overdue} overdue` : ''}${s.instance.launchDate ? `  🚀 ${s.instance.launchDate}` : ''}${gone}`;
  });
  const blocks: KnownBlock[] = [context(`☑ *${list.length} checklist${list.length === 1 ? '' : 's'}*  ·  \`/checklist &lt;id&gt;\` posts one here to tick together`)];
  for (const piece of splitMrkdwn(lines.join('\n'), SECTION_TEXT)) blocks.push(section(piece));
  // A very long list is still shown whole: pieces beyond the block limit are named, not dropped.
  if (blocks.length > MESSAGE_BLOCKS) return [...blocks.slice(0, MESSAGE_BLOCKS - 1), context(`…${blocks.length - MESSAGE_BLOCKS + 1} more blocks of checklists: use \`/checklist &lt;id&gt;\``)];
  return blocks;
}

/** A due event's detail ("<ISO time> (rule)" or "cleared") with the time in Slack's date formatting. */
function dueDetail(detail: string): string {
  const at = /^(\d{4}-\d{2}-\d{2}T[\d:.]+Z)/.exec(detail);
  return at ? slackDate(new Date(at[1]!)) : escapeMrkdwn(detail);
}

/** `/checklist history`: newest first, with Slack dates. */
export function historyBlocks(instance: Instance, entries: HistoryEntry[], items: Map<string, TaskItem>, itemKey?: string): KnownBlock[] {
  const verb: Record<string, string> = { tick: '☑ ticked', untick: '☐ unticked', assign: '👤 assigned', unassign: '👤 unassigned', due: '📅 due date', create: '✨ created', archive: '🗄 archived' };
  const lines = entries.map((e) => {
    const what = e.itemKey ? `_${escapeMrkdwn(clip(items.get(e.itemKey)?.plain ?? e.itemKey, 60))}_` : '';
    const detail = e.action === 'assign' && e.detail ? ` to ${userMention(e.detail)}` : e.action === 'due' && e.detail ? ` ${dueDetail(e.detail)}` : '';
    const who = e.actor === RUNBOOK_ACTOR ? 'the runbook' : userMention(e.actor);
    return `${slackDate(e.at)}  ${who} ${verb[e.action] ?? e.action} ${what}${detail}  _(${escapeMrkdwn(e.source)})_`;
  });
  const title = `🕘 History of *${escapeMrkdwn(instance.name)}*${itemKey ? ` › _${escapeMrkdwn(items.get(itemKey)?.plain ?? itemKey)}_` : ''}`;
  if (!lines.length) return [section(`${title}\nNothing has changed yet.`)];
  const blocks: KnownBlock[] = [section(title)];
  const pieces = splitMrkdwn(lines.join('\n'), SECTION_TEXT);
  for (const piece of pieces.slice(0, MESSAGE_BLOCKS - 2)) blocks.push(section(piece));
  if (pieces.length > MESSAGE_BLOCKS - 2) blocks.push(context(`Older entries: \`preflight export ${escapeCode(instance.id)} --format csv\` has them all.`));
  return blocks;
}

export interface HomeData {
  user: string;
  instances: Array<{ instance: Instance; runbook: Runbook; state: Map<string, ItemState> }>;
  now: Date;
  /** Other capabilities' parts (rollbacks, on-call, readiness), shown first. */
  parts?: KnownBlock[];
}

/** The App Home tab: my open items with working checkboxes, then every instance's progress. */
export function homeView(h: HomeData): { type: 'home'; blocks: KnownBlock[] } {
  const blocks: KnownBlock[] = [header('Preflight'), context('Runbooks, checklists and launches from git. `/checklist` · `/runbook` · `/runbook help`')];
  blocks.push(...(h.parts ?? []).slice(0, VIEW_BLOCKS - 40));
  blocks.push(header('Your items'));
  let n = 0;
  let mine = 0;
  const budget = VIEW_BLOCKS - 25; // leave room for the progress list
  for (const { instance, runbook, state } of h.instances) {
    const items = runbook.tasks.filter((t) => state.get(t.key)?.owner === h.user && !state.get(t.key)?.checked);
    if (!items.length) continue;
    if (blocks.length + 1 + Math.ceil(items.length / CHECKBOX_OPTIONS) > budget) {
      blocks.push(context(`…more assigned items in \`${escapeCode(instance.id)}\`: \`/checklist ${escapeCode(instance.id)}\``));
      continue;
    }
    mine += items.length;
    blocks.push(section(`*${escapeMrkdwn(instance.name)}* \`${escapeCode(instance.id)}\``));
    for (let i = 0; i < items.length; i += CHECKBOX_OPTIONS) blocks.push(checkboxes(items.slice(i, i + CHECKBOX_OPTIONS), state, n++, instance.id, h.now, new Set()));
  }
  if (!mine) blocks.push(section('Nothing assigned to you is open. 🎉'));
  blocks.push(header('Checklists'));
  const lines = h.instances.map(({ instance, runbook, state }) => {
    const p = progress(runbook.tasks, state, h.now);
    return `• *${escapeMrkdwn(instance.name)}* \`${escapeCode(instance.id)}\`  ${p.done}/${p.total} ${bar(p)}${p.overdue ? `  🔴 ${p.overdue} overdue` : ''}`;
  });
  if (!lines.length) lines.push('No checklists yet: `/checklist` in a channel starts one.');
  const pieces = splitMrkdwn(lines.join('\n'), SECTION_TEXT);
  const room = VIEW_BLOCKS - blocks.length - 1;
  for (const piece of pieces.slice(0, room)) blocks.push(section(piece));
  if (pieces.length > room) blocks.push(context('…more checklists: `/checklist` lists them all.'));
  return { type: 'home', blocks };
}

export const CHECKLIST_HELP = [
  '*/checklist* — pre-launch checklists from runbooks, ticked together in Slack',
  '• `/checklist` — every checklist with its progress',
  '• `/checklist &lt;id&gt; [section]` — post it in this channel to tick (the id of a runbook\'s own checklist is the runbook id)',
  '• `/checklist new &lt;runbook&gt; &lt;name&gt; [launch YYYY-MM-DD]` — a fresh checklist for a release or launch',
  '• `/checklist assign [&lt;id&gt;] &lt;item&gt; @user` — give an item an owner (`@nobody` clears it)',
  '• `/checklist due [&lt;id&gt;] &lt;item or section&gt; &lt;date&gt;` — `2026-12-01` (the end of that day in the team\'s time zone), `2026-12-01T15:00Z`, `launch-24h` or `launch-2d` (before the start of the launch day), `+3d` (from now), or `none`',
  '• `/checklist history &lt;id&gt; [item]` — who changed what, and when',
  '• `/checklist archive &lt;id&gt;` — retire a checklist made by mistake or done with (its creator or an admin; history is kept)',
  'Items are found by words of their text. Without `&lt;id&gt;`, the checklist last posted in this channel is meant.',
].join('\n');
