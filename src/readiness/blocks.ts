// Block Kit for /readiness, the digest and App Home, drawn from what domain.ts computes.
import type { KnownBlock } from '@slack/types';
import { clip, context, divider, header, section, splitMrkdwn } from '../slack/blocks.ts';
import { MESSAGE_BLOCKS, SECTION_TEXT } from '../slack/limits.ts';
import { escapeCode, escapeMrkdwn, slackDate, userMention } from '../slack/mrkdwn.ts';
import { bar, sparkline, TREND_DAYS, type Blocker, type GateResult, type OpenItem, type Readiness, type RecentTicks } from './domain.ts';

/** Who is on call and which rollbacks are open, when those capabilities exist. */
export interface Extras {
  onCall?: Array<{ rotationName: string; userId: string }>;
  rollbacks?: Array<{ title: string; runbookId: string; channel: string; startedBy: string; startedAt: Date; drill: boolean }>;
}

/** A digest: every instance's readiness, what was ticked lately, and its summary line. */
export interface Digest {
  at: Date;
  /** The digest's day in DIGEST_TIMEZONE (YYYY-MM-DD). */
  day: string;
  list: Readiness[];
  recent: RecentTicks[];
  summary: string;
  /** The cron fire this digest is for (unset when run by hand). */
  fire?: Date;
  /** True when it runs well after its fire (every instance was down then). */
  late?: boolean;
  extras: Extras;
}

const MAX_SECTIONS = 30;
const MAX_MISSING = 6;
const MAX_BLOCKERS = 10;
const MAX_RECENT = 15;
/** Instances drawn in full in an overview; the rest are named on one line. */
const MAX_LISTED = 30;

export const READINESS_HELP = [
  '*/readiness* — where each launch stands: measured from checklist ticks, with gates and blockers',
  '• `/readiness` — every checklist, most urgent launch first',
  '• `/readiness &lt;checklist&gt;` — one checklist: sections, change since yesterday, 14-day trend, gates, blockers',
  '• `/readiness subscribe` — get the daily digest as a direct message; `/readiness unsubscribe` stops it',
  'Scores are ticked ÷ total items (weights and gates come from the runbook\'s front matter). Figures a runbook declares about itself are shown beside them, labelled _declared_.',
].join('\n');

const signed = (n: number) => (n > 0 ? `+${n}` : `${n}`);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "Overall 36% · declared 90%": the measured figure always comes right after "Overall". */
export function overallLine(r: Readiness): string {
  const d = r.declared?.overall;
  const declared = d === undefined ? '' : ` · declared ${d}% _(the runbook's own figure, ${Math.abs(d - r.overall.pct)} points ${d > r.overall.pct ? 'above' : d < r.overall.pct ? 'below' : 'equal to'} the measured)_`;
  return `*Overall ${r.overall.pct}%*${declared}`;
}

function launchText(r: Readiness): string {
  if (r.daysLeft === undefined || !r.instance.launchDate) return '';
  const when = r.daysLeft > 1 ? `launch in ${r.daysLeft} days` : r.daysLeft === 1 ? 'launch tomorrow' : r.daysLeft === 0 ? 'launch today' : `launch was ${plural(-r.daysLeft, 'day')} ago`;
  return `🚀 ${when} (${r.instance.launchDate})`;
}

function changeText(r: Readiness): string {
  const c = r.change;
  if (!c) return 'no snapshot yet: the change shows from tomorrow';
  const since = c.yesterday ? 'since yesterday' : `since ${c.since}`;
  if (!c.items && !c.points) return `no change ${since}`;
  return `${c.points >= 0 ? '📈' : '📉'} ${signed(c.items)} ${c.items === 1 || c.items === -1 ? 'item' : 'items'} (${signed(c.points)} pts) ${since}`;
}

function who(item: OpenItem, fallback?: string): string {
  return item.owner ? userMention(item.owner) : fallback ? `${escapeMrkdwn(fallback)} _(runbook owner)_` : '_unowned_';
}

function itemLine(item: OpenItem, owner?: string): string {
  const due = item.dueAt ? ` · due ${slackDate(item.dueAt)}${item.overdue ? ' 🔴 overdue' : ''}` : '';
  return `• ${escapeMrkdwn(clip(item.text, 120))} _(${escapeMrkdwn(clip(item.section, 60))})_ — ${who(item, owner)}${due}`;
}

/** One gate: GO, or NO-GO with exactly what is missing and who owns it. */
export function gateText(g: GateResult, owner?: string, maxMissing = MAX_MISSING): string {
  if (g.go) return `✅ *GO* · ${escapeMrkdwn(g.name)} _(all ${g.required} items ticked)_`;
  const lines = [`⛔ *NO-GO* · ${escapeMrkdwn(g.name)}: ${g.missing.length} of ${g.required} items missing`];
  for (const item of g.missing.slice(0, maxMissing)) lines.push(itemLine(item, owner));
  if (g.missing.length > maxMissing) lines.push(`…and ${g.missing.length - maxMissing} more`);
  for (const ref of g.unknown) lines.push(`⚠️ front matter names \`${escapeCode(ref)}\`, which is no section or item of this runbook`);
  return lines.join('\n');
}

function blockerLine(b: Blocker, owner?: string): string {
  if (b.kind === 'section') return `⭕ section at 0%: *${escapeMrkdwn(b.section.title)}* (0/${b.section.total})`;
  const why = b.item.overdue ? '🔴 overdue' : `❗ ${b.item.priority} priority`;
  return `${why} ${itemLine(b.item, owner).slice(2)}`;
}

function blockerTexts(r: Readiness, max = MAX_BLOCKERS): string {
  const owner = r.runbook.meta.owner;
  const lines = r.blockers.slice(0, max).map((b) => blockerLine(b, owner));
  if (r.blockers.length > max) lines.push(`…and ${r.blockers.length - max} more: \`/readiness ${escapeCode(r.instance.id)}\``);
  return lines.join('\n');
}

function pieces(text: string, max = SECTION_TEXT): KnownBlock[] {
  return splitMrkdwn(text, max).map((p) => section(p));
}

function extrasBlocks(x: Extras): KnownBlock[] {
  const out: KnownBlock[] = [];
  if (x.onCall) out.push(section(`📟 *On call:* ${x.onCall.length ? x.onCall.slice(0, 10).map((o) => `${userMention(o.userId)} (${escapeMrkdwn(o.rotationName)})`).join(', ') : 'nobody'}`));
  if (x.rollbacks) {
    const lines = x.rollbacks.slice(0, 5).map((r) => `• *${escapeMrkdwn(r.title)}* (\`${escapeCode(r.runbookId)}\`)${r.drill ? ' _drill_' : ''} started by ${userMention(r.startedBy)} ${slackDate(r.startedAt)} in <#${escapeCode(r.channel)}>`);
    if (x.rollbacks.length > 5) lines.push(`…and ${x.rollbacks.length - 5} more: \`/rollback\``);
    out.push(...pieces(`↩️ *Open rollbacks:* ${x.rollbacks.length ? `\n${lines.join('\n')}` : 'none'}`));
  }
  return out;
}

/** `/readiness <instance>`: overall and per-section bars, change, trend, gates, blockers, on call, rollbacks. */
export function readinessBlocks(r: Readiness, extras: Extras = {}): KnownBlock[] {
  const blocks: KnownBlock[] = [header(`Readiness · ${r.instance.name}`)];
  const head = [
    `${overallLine(r)}`,
    `\`${bar(r.overall.pct)} ${r.overall.pct}%\` ${r.overall.done}/${r.overall.total} items ticked${r.overall.weighted ? ' _(score weighted by section, see front matter)_' : ''}`,
    [launchText(r), changeText(r)].filter(Boolean).join(' · '),
    `${TREND_DAYS} days: \`${sparkline(r.trend)}\``,
  ];
  blocks.push(section(head.join('\n')));

  const shown = r.sections.slice(0, MAX_SECTIONS);
  const lines = shown.map((s) => `\`${bar(s.pct)} ${String(s.pct).padStart(3)}%\` ${escapeMrkdwn(s.title)} ${s.done}/${s.total}${s.weight !== 1 ? ` _(×${s.weight})_` : ''}`);
  if (r.sections.length > shown.length) lines.push(`…and ${r.sections.length - shown.length} more sections: \`/checklist ${escapeCode(r.instance.id)}\` shows every item`);
  blocks.push(...pieces(`*Sections*\n${lines.join('\n')}`));
  if (r.declared?.categories.length) {
    const cats = r.declared.categories.map((c) => `${escapeMrkdwn(c.name)} ${c.pct}%`).join(' · ');
    blocks.push(context(clip(`_Declared_ in the runbook's score table (its own figures, not measured): ${cats}`, 2900)));
  }

  if (r.gates.length) {
    blocks.push(divider());
    const owner = r.runbook.meta.owner;
    for (const g of r.gates.slice(0, 10)) blocks.push(...pieces(gateText(g, owner)));
  }
  blocks.push(divider());
  blocks.push(...pieces(r.blockers.length ? `*Blockers* (${r.blockers.length})\n${blockerTexts(r)}` : '*Blockers:* none 🎉'));
  blocks.push(...extrasBlocks(extras));
  blocks.push(context(`Measured from the checklist: ticked ÷ total items. Tick with \`/checklist ${escapeCode(r.instance.id)}\` · \`/readiness\` lists every checklist`));
  return capBlocks(blocks, `\`/readiness ${escapeCode(r.instance.id)}\``);
}

/** One instance in an overview: name, bar, overall (measured, then declared), launch, change, trend, gates, blockers. */
function overviewEntry(r: Readiness): string {
  const nogo = r.gates.filter((g) => !g.go).length;
  const gates = r.gates.length ? (nogo ? `⛔ ${nogo} of ${r.gates.length} gates NO-GO` : `✅ all ${r.gates.length} gates GO`) : '';
  const facts = [launchText(r), changeText(r), `\`${sparkline(r.trend)}\``].filter(Boolean).join(' · ');
  const risks = [gates, r.blockers.length ? `${plural(r.blockers.length, 'blocker')}` : 'no blockers'].filter(Boolean).join(' · ');
  return `*${escapeMrkdwn(r.instance.name)}* \`${escapeCode(r.instance.id)}\`\n\`${bar(r.overall.pct)}\` ${overallLine(r)} · ${r.overall.done}/${r.overall.total}\n${facts}\n${risks}`;
}

function overviewText(list: Readiness[], max = MAX_LISTED): string {
  const entries = list.slice(0, max).map(overviewEntry);
  if (list.length > max) {
    const rest = list.slice(max).map((r) => `\`${escapeCode(r.instance.id)}\` ${r.overall.pct}%`);
    entries.push(`…and ${list.length - max} more, less urgent: ${rest.join(', ')}`);
  }
  return entries.join('\n\n');
}

/** `/readiness` without an argument: every instance, most urgent launch first. */
export function overviewBlocks(list: Readiness[], extras: Extras = {}): KnownBlock[] {
  if (!list.length) return [section('No checklists yet. Any runbook with `- [ ]` items is one: `/runbook` lists them.')];
  const blocks: KnownBlock[] = [header('Readiness'), context(`${plural(list.length, 'checklist')}, most urgent launch first · \`/readiness &lt;checklist&gt;\` for sections, gates and blockers`)];
  blocks.push(...pieces(overviewText(list)));
  blocks.push(...extrasBlocks(extras));
  return capBlocks(blocks, '`/readiness &lt;checklist&gt;`');
}

/** The digest message: summary, every instance, the most urgent one's gates and blockers, and the last 24 hours' ticks. */
export function digestBlocks(d: Digest): KnownBlock[] {
  const blocks: KnownBlock[] = [header(`Readiness digest · ${d.day}`)];
  if (d.fire) blocks.push(context(d.late ? `⏰ Due ${slackDate(d.fire)}; posted late because Preflight was down then.` : `Scheduled for ${slackDate(d.fire)}`));
  blocks.push(section(escapeMrkdwn(d.summary)));
  if (!d.list.length) {
    blocks.push(section('No checklists yet.'));
    return blocks;
  }
  blocks.push(divider(), ...pieces(overviewText(d.list, 20)));
  const top = d.list[0]!;
  if (top.gates.length || top.blockers.length) {
    blocks.push(divider(), section(`*Most urgent: ${escapeMrkdwn(top.instance.name)}*`));
    for (const g of top.gates.slice(0, 4)) blocks.push(...pieces(gateText(g, top.runbook.meta.owner, 4)));
    if (top.blockers.length) blocks.push(...pieces(`*Blockers* (${top.blockers.length})\n${blockerTexts(top, 6)}`));
  }
  blocks.push(divider(), ...pieces(recentText(d.recent)));
  blocks.push(...extrasBlocks(d.extras));
  blocks.push(context('`/readiness` for details · `/readiness subscribe` gets this digest by direct message'));
  return capBlocks(blocks, '`/readiness`');
}

function recentText(recent: RecentTicks[]): string {
  if (!recent.length) return '*Ticked in the last 24 hours:* nothing';
  const lines = recent.slice(0, MAX_RECENT).map((t) => {
    const items = t.items.slice(0, 3).map((i) => `_${escapeMrkdwn(clip(i, 60))}_`).join(', ');
    return `• ${userMention(t.actor)} ticked ${t.items.length} in *${escapeMrkdwn(t.name)}*: ${items}${t.items.length > 3 ? ` and ${t.items.length - 3} more` : ''}`;
  });
  if (recent.length > MAX_RECENT) lines.push(`…and ${recent.length - MAX_RECENT} more people or checklists: \`/checklist history &lt;checklist&gt;\``);
  return `*Ticked in the last 24 hours* (${recent.reduce((n, t) => n + t.items.length, 0)} items)\n${lines.join('\n')}`;
}

/** App Home: the most urgent few instances, compactly. */
export function homeBlocks(list: Readiness[]): KnownBlock[] {
  if (!list.length) return [];
  const more = list.length > 5 ? `…and ${list.length - 5} more checklists · ` : '';
  return [header('Readiness'), ...pieces(overviewText(list.slice(0, 5))), context(`${more}\`/readiness\` for every checklist · \`/readiness subscribe\` for the daily digest`)];
}

/** Keeps a message within Slack's block limit, saying where the rest is. */
function capBlocks(blocks: KnownBlock[], where: string): KnownBlock[] {
  if (blocks.length <= MESSAGE_BLOCKS) return blocks;
  return [...blocks.slice(0, MESSAGE_BLOCKS - 1), context(`…${blocks.length - MESSAGE_BLOCKS + 1} more blocks left out: ${where} has them`)];
}

/** The digest as plain text, for `preflight digest` and the message's notification text. */
export function digestPlain(d: Digest): string {
  const out = [`Readiness digest · ${d.day}`];
  if (d.fire) out.push(`(scheduled for ${d.fire.toISOString()}${d.late ? '; posted late' : ''})`);
  out.push('', d.summary);
  for (const r of d.list) {
    const declared = r.declared?.overall === undefined ? '' : ` · declared ${r.declared.overall}%`;
    const c = r.change ? ` · ${signed(r.change.items)} items since ${r.change.yesterday ? 'yesterday' : r.change.since}` : '';
    const launch = r.daysLeft === undefined ? '' : ` · launch ${r.instance.launchDate} (${r.daysLeft} days)`;
    out.push('', `${r.instance.name} (${r.instance.id})`, `  ${bar(r.overall.pct)} Overall ${r.overall.pct}%${declared} · ${r.overall.done}/${r.overall.total}${launch}${c}`, `  trend ${sparkline(r.trend)}`);
    for (const s of r.sections) out.push(`  ${bar(s.pct)} ${String(s.pct).padStart(3)}% ${s.title} ${s.done}/${s.total}`);
    for (const g of r.gates) {
      out.push(`  ${g.go ? 'GO   ' : 'NO-GO'} ${g.name}${g.go ? '' : `: ${g.missing.length} of ${g.required} missing`}`);
      for (const m of g.missing.slice(0, MAX_MISSING)) out.push(`        - ${m.text} (${m.owner ?? r.runbook.meta.owner ?? 'unowned'})`);
      if (g.missing.length > MAX_MISSING) out.push(`        … and ${g.missing.length - MAX_MISSING} more`);
      for (const u of g.unknown) out.push(`        ! unknown section or item: ${u}`);
    }
    if (r.blockers.length) out.push(`  blockers: ${r.blockers.length}`);
    for (const b of r.blockers.slice(0, MAX_BLOCKERS)) out.push(b.kind === 'section' ? `    - section at 0%: ${b.section.title}` : `    - ${b.item.overdue ? 'overdue' : `${b.item.priority} priority`}: ${b.item.text} (${b.item.owner ?? 'unowned'})`);
  }
  out.push('', 'Ticked in the last 24 hours:');
  if (!d.recent.length) out.push('  nothing');
  for (const t of d.recent) out.push(`  ${t.actor} ticked ${t.items.length} in ${t.name}: ${t.items.join('; ')}`);
  return out.join('\n');
}
