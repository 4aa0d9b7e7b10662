import type { KnownBlock, PlainTextOption } from '@slack/types';
import { actions, button, clip, context, didYouMean, divider, header, paginate, section, splitMrkdwn } from '../slack/blocks.ts';
import { sectionNumbers } from './library.ts';
import { CONTEXT_TEXT, OPTION_TEXT, SECTION_TEXT, SELECT_OPTIONS } from '../slack/limits.ts';
import { escapeCode, escapeMrkdwn, safePlain } from '../slack/mrkdwn.ts';
import { allSections, type Block, type Budget, type Priority, type Runbook, type Section } from './model.ts';

/** Action ids of /runbook's buttons and menus; listeners.ts registers exactly these. */
export const RUNBOOK_ACTIONS = {
  next: 'runbook:page:next',
  prev: 'runbook:page:prev',
  jump: 'runbook:page:jump',
  open: 'runbook:open',
  listPage: 'runbook:list:page',
} as const;

/** What a page button carries: runbook, optional section, page index (0-based). */
export interface PageRef {
  r: string;
  s?: string;
  p: number;
}

const PRIORITY_BADGE: Record<Priority, string> = { critical: '🔴 critical', high: '🟠 high priority', medium: '🟡 medium priority', low: '⚪ low priority' };

function badges(budget?: Budget, priority?: Priority): string {
  const parts = [budget ? `⏱ ${escapeMrkdwn(budget.text)}` : '', priority ? PRIORITY_BADGE[priority] : ''].filter(Boolean);
  return parts.length ? `  ·  ${parts.join('  ·  ')}` : '';
}

/** Collects mrkdwn lines and emits section blocks within SECTION_TEXT; code stays fenced and whole per line. */
class SectionWriter {
  readonly blocks: KnownBlock[] = [];
  private lines: string[] = [];

  text(mrkdwn: string, indent = ''): void {
    for (const line of mrkdwn.split('\n')) this.lines.push(indent + line);
  }

  /**
   * Code is never indented: indentation inside a fence would be copied with the command. A block that fits
   * in one section is never split; a longer one is cut at sensible places, each later part saying it continues.
   */
  code(code: string): void {
    const lines = escapeCode(code).split('\n');
    const size = lines.reduce((n, l) => n + l.length + 1, 0) + 8;
    if (this.lines.length && this.size() + size > SECTION_TEXT) this.flush();
    if (size <= SECTION_TEXT) {
      this.lines.push('```', ...lines, '```');
      return;
    }
    this.flush();
    codeChunks(lines, SECTION_TEXT - CONTINUED.length - 12).forEach((chunk, i) => {
      const text = `${i ? `${CONTINUED}\n` : ''}\`\`\`\n${chunk.join('\n')}\n\`\`\``;
      for (const piece of splitMrkdwn(text, SECTION_TEXT)) this.blocks.push(section(piece));
    });
  }

  private size(): number {
    return this.lines.reduce((n, l) => n + l.length + 1, 0);
  }

  block(block: KnownBlock): void {
    this.flush();
    this.blocks.push(block);
  }

  flush(): void {
    const text = this.lines.join('\n').replace(/^\n+|\n+$/g, '');
    this.lines = [];
    if (text.trim()) for (const piece of splitMrkdwn(text, SECTION_TEXT)) this.blocks.push(section(piece));
  }
}

/** What a continued part of a long code block says first. */
export const CONTINUED = '_↪ code continued_';

const COMMENT = /^\s*(#|\/\/|--|;|rem\b)/i;

/**
 * Lines of a long code block in parts of at most max characters, cut at a blank line if one is near the end,
 * else where a commented group starts, else at a top-level line; never between a comment and what it names.
 */
export function codeChunks(lines: string[], max: number): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let size = 0;
  const cutOf = (c: string[]): number => {
    const from = Math.max(1, Math.floor(c.length / 3));
    const rules: Array<(prev: string, line: string) => boolean> = [
      (prev) => !prev.trim(),
      (prev, line) => COMMENT.test(line) && !COMMENT.test(prev) && !prev.trimEnd().endsWith('\\'),
      (prev, line) => !/^\s/.test(line) && !COMMENT.test(prev) && !prev.trimEnd().endsWith('\\'),
      (prev) => !COMMENT.test(prev) && !prev.trimEnd().endsWith('\\'),
    ];
    for (const rule of rules) for (let i = c.length - 1; i >= from; i--) if (rule(c[i - 1]!, c[i]!)) return i;
    return c.length;
  };
  for (const line of lines) {
    if (current.length && size + line.length + 1 > max) {
      const cut = cutOf(current);
      chunks.push(current.slice(0, cut));
      current = current.slice(cut);
      size = current.reduce((n, l) => n + l.length + 1, 0);
    }
    current.push(line);
    size += line.length + 1;
  }
  if (current.length) chunks.push(current);
  // Blank lines at a cut are the cut; they are not shown at the edges of a part.
  return chunks.map((c) => trimBlank(c)).filter((c) => c.length);
}

function trimBlank(lines: string[]): string[] {
  let a = 0;
  let b = lines.length;
  while (a < b && !lines[a]!.trim()) a++;
  while (b > a && !lines[b - 1]!.trim()) b--;
  return lines.slice(a, b);
}

function writeBlocks(w: SectionWriter, blocks: Block[], indent = ''): void {
  for (const b of blocks) {
    switch (b.kind) {
      case 'text':
        w.text(b.mrkdwn, indent);
        w.text('', '');
        break;
      case 'code':
        w.code(b.code);
        break;
      case 'list':
        b.items.forEach((item, i) => {
          const bullet = item.task ? (item.task.checked ? '☑' : '☐') : b.ordered ? `${b.start + i}.` : indent ? '◦' : '•';
          const [first = '', ...more] = item.mrkdwn.split('\n');
          w.text(`${bullet} ${first}`, indent);
          for (const line of more) w.text(line, `${indent}    `);
          writeBlocks(w, item.blocks, `${indent}    `);
        });
        if (!indent) w.text('');
        break;
      case 'table':
        writeTable(w, b.header, b.rows);
        break;
      case 'quote': {
        const inner = new SectionWriter();
        writeBlocks(inner, b.blocks);
        inner.flush();
        w.text(
          inner.blocks
            .map((s) => (s.type === 'section' ? s.text?.text ?? '' : ''))
            .join('\n')
            .split('\n')
            .map((l) => `> ${l}`)
            .join('\n'),
        );
        break;
      }
      case 'rule':
        w.block(divider());
        break;
    }
  }
}

/** Narrow tables as aligned monospace; wide ones as one bullet per row, so nothing wraps into nonsense. */
function writeTable(w: SectionWriter, head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  if (widths.reduce((a, b) => a + b + 3, 0) <= 90) {
    const fmt = (cells: string[]) => cells.map((c, i) => c + ' '.repeat(Math.max(0, widths[i]! - width(c)))).join(' │ ').trimEnd();
    w.code([fmt(head), widths.map((n) => '─'.repeat(n)).join('─┼─'), ...rows.map(fmt)].join('\n'));
    return;
  }
  for (const row of rows) {
    w.text(`• ${row.map((c, i) => (head[i] ? `*${escapeMrkdwn(head[i]!)}:* ${escapeMrkdwn(c)}` : escapeMrkdwn(c))).join('  ·  ')}`);
  }
  w.text('');
}

function width(text: string): number {
  return [...text].length;
}

function writeSection(w: SectionWriter, s: Section, top: boolean): void {
  const title = `${s.title}`;
  if (s.depth <= 2 || top) w.block(header(title));
  else w.text(`*${escapeMrkdwn(title)}*`);
  const badge = badges(s.budget, s.priority).replace(/^ {2}· {2}/, '');
  if (badge) w.text(`_${badge}_`);
  writeBlocks(w, s.blocks);
  for (const child of s.children) writeSection(w, child, false);
}

/** The body blocks of a whole runbook, or of one section and its subsections. */
export function runbookBodyBlocks(runbook: Runbook, sectionKey?: string): KnownBlock[] {
  const w = new SectionWriter();
  const target = sectionKey ? allSections(runbook).find((s) => s.key === sectionKey) : undefined;
  if (target) writeSection(w, target, true);
  else {
    writeBlocks(w, runbook.root.blocks);
    for (const child of runbook.root.children) writeSection(w, child, false);
  }
  w.flush();
  return w.blocks;
}

/** The pages of a runbook (or section), each a complete message within Slack's limits. */
export function runbookPages(runbook: Runbook, sectionKey?: string): KnownBlock[][] {
  return paginate(runbookBodyBlocks(runbook, sectionKey));
}

/** One page of a runbook as a message: title line, the page's blocks, and navigation. */
export function runbookMessage(runbook: Runbook, ref: PageRef, pages = runbookPages(runbook, ref.s)): KnownBlock[] {
  const p = Math.min(Math.max(ref.p, 0), pages.length - 1);
  const target = ref.s ? allSections(runbook).find((s) => s.key === ref.s) : undefined;
  const sectionTitle = target ? `${sectionNumbers(runbook).get(target.key) ?? ''} ${target.path.join(' › ')}`.trim() : undefined;
  const where = [`📘 *${escapeMrkdwn(runbook.title)}*`, `\`${escapeCode(runbook.id)}\``, sectionTitle ? `§ ${escapeMrkdwn(sectionTitle)}` : '', pages.length > 1 ? `page ${p + 1} of ${pages.length}` : ''];
  const blocks: KnownBlock[] = [context(where.filter(Boolean).join('  ·  '))];
  if (!ref.s && p === 0 && runbook.root.children.length > 1) blocks.push(contents(runbook));
  blocks.push(...pages[p]!);
  if (pages.length > 1) {
    const nav = [];
    if (p > 0) nav.push(button('◀ Previous', RUNBOOK_ACTIONS.prev, { ...ref, p: p - 1 }));
    if (p < pages.length - 1) nav.push(button('Next ▶', RUNBOOK_ACTIONS.next, { ...ref, p: p + 1 }, 'primary'));
    const options = pageOptions(pages, ref);
    if (options.length > 1) {
      nav.push({ type: 'static_select' as const, action_id: RUNBOOK_ACTIONS.jump, placeholder: { type: 'plain_text' as const, text: 'Jump to page' }, options });
    }
    blocks.push(actions(nav));
  }
  return blocks;
}

/** The numbered top-level sections, so `/runbook <id> <n>` means what is shown. */
function contents(runbook: Runbook): KnownBlock {
  const hint = `  ·  \`/runbook ${escapeCode(runbook.id)} 2\` opens section 2, \`2.1\` its first part`;
  const items = runbook.root.children.map((s) => numberedTitle(runbook, s));
  let text = '*Sections:*';
  for (const [i, item] of items.entries()) {
    // What does not fit is counted, not dropped silently.
    if (text.length + item.length + hint.length + 40 > CONTEXT_TEXT) {
      text += `  ·  …and ${items.length - i} more`;
      break;
    }
    text += `${i ? '  ·' : ''}  ${item}`;
  }
  return context(text + hint);
}

/** "Page 3 — Database Rollback": one option per page, named after the first heading on it. */
function pageOptions(pages: KnownBlock[][], ref: PageRef): PlainTextOption[] {
  return pages.slice(0, SELECT_OPTIONS).map((page, i) => {
    const first = page.find((b) => b.type === 'header');
    const label = first?.type === 'header' ? first.text.text : '';
    return { text: { type: 'plain_text', text: clip(`Page ${i + 1}${label ? ` — ${label}` : ''}`, OPTION_TEXT) }, value: JSON.stringify({ ...ref, p: i }) };
  });
}

/** The list of runbooks, grouped by folder, paged like a runbook. */
export function runbookListPages(runbooks: Runbook[], rootFolder = 'runbooks'): KnownBlock[][] {
  const groups = new Map<string, Runbook[]>();
  for (const r of runbooks) {
    const folder = r.id.includes('/') ? r.id.slice(0, r.id.lastIndexOf('/')) : '';
    groups.set(folder, [...(groups.get(folder) ?? []), r]);
  }
  const w = new SectionWriter();
  for (const [folder, list] of groups) {
    w.text(`*📁 ${escapeMrkdwn(folder || rootFolder)}*  (${list.length})`);
    for (const r of list) w.text(`• \`${escapeCode(r.id)}\` — ${escapeMrkdwn(r.title)}${r.tasks.length ? `  ☑ ${r.tasks.length} items` : ''}`);
    w.flush();
  }
  w.flush();
  return paginate(w.blocks);
}

/** One page of the runbook list as a message. */
export function runbookListMessage(runbooks: Runbook[], page: number, rootFolder?: string): KnownBlock[] {
  const pages = runbookListPages(runbooks, rootFolder);
  const p = Math.min(Math.max(page, 0), pages.length - 1);
  const blocks: KnownBlock[] = [
    context(`📚 *${runbooks.length} runbook${runbooks.length === 1 ? '' : 's'}*${pages.length > 1 ? `  ·  page ${p + 1} of ${pages.length}` : ''}  ·  \`/runbook &lt;id&gt;\` to open one, \`/runbook search &lt;words&gt;\` to find`),
    ...pages[p]!,
  ];
  if (pages.length > 1) {
    const nav = [];
    if (p > 0) nav.push(button('◀ Previous', RUNBOOK_ACTIONS.listPage, { p: p - 1 }));
    if (p < pages.length - 1) nav.push(button('More ▶', RUNBOOK_ACTIONS.listPage, { p: p + 1 }, 'primary'));
    blocks.push(actions(nav));
  }
  return blocks;
}

export interface SearchHit {
  runbookId: string;
  runbookTitle: string;
  sectionKey: string;
  path: string;
  snippet: string;
}

/** Search results: one section per hit, with an Open button. */
export function searchResultBlocks(query: string, hits: SearchHit[], respelled?: string): KnownBlock[] {
  if (!hits.length) {
    const near = respelled ? ` ${didYouMean([`\`/runbook search ${escapeCode(respelled)}\``])}\n` : ' ';
    return [section(`No section matches _${escapeMrkdwn(query)}_.${near}Try fewer or other words, or \`/runbook\` to list runbooks.`)];
  }
  const blocks: KnownBlock[] = [context(`🔎 ${hits.length} section${hits.length === 1 ? '' : 's'} match _${escapeMrkdwn(query)}_`)];
  for (const hit of hits) {
    const title = `*${escapeMrkdwn(hit.runbookTitle)}*${hit.path ? ` › ${escapeMrkdwn(hit.path)}` : ''}`;
    const text = `${title}\n\`${escapeCode(hit.runbookId)}\`  ${hit.snippet}`;
    blocks.push(section(splitMrkdwn(text, SECTION_TEXT)[0]!, button('Open', RUNBOOK_ACTIONS.open, { r: hit.runbookId, s: hit.sectionKey || undefined, p: 0 })));
  }
  return blocks;
}

/** The ephemeral reply for a name that matches no runbook (or section): the closest few, and where to look. */
export function notFoundBlocks(what: string, query: string, suggestions: string[], hint = ''): KnownBlock[] {
  const near = didYouMean(suggestions.map((s) => `\`${escapeCode(s)}\``));
  return [section(`No ${what} matches \`${escapeCode(query)}\`.${near ? ` ${near}` : ''}${hint ? `\n${hint}` : ''}`)];
}

/** The ephemeral reply for a name that several runbooks match equally: all of them, to pick from. */
export function ambiguousRunbookBlocks(query: string, runbooks: Runbook[]): KnownBlock[] {
  const list = runbooks.map((r) => `• \`${escapeCode(r.id)}\` — ${escapeMrkdwn(r.title)}`).join('\n');
  return [section(splitMrkdwn(`\`${escapeCode(query)}\` matches ${runbooks.length} runbooks; name one by more of its id:\n${list}`, SECTION_TEXT)[0]!)];
}

/** A section as it is listed: its outline number (what `/runbook <id> <n>` opens) and its title. */
export function numberedTitle(runbook: Runbook, s: Section): string {
  const n = sectionNumbers(runbook).get(s.key);
  return `${n ? `\`${n}\` ` : ''}${escapeMrkdwn(s.title)}`;
}

/** The reply for a section query that matches none or several: numbered sections to choose from. */
export function sectionChoiceBlocks(runbook: Runbook, query: string, sections: Section[], ambiguous: boolean): KnownBlock[] {
  const where = `\`${escapeCode(runbook.id)}\``;
  const list = sections.map((s) => numberedTitle(runbook, s));
  const text = ambiguous
    ? `\`${escapeCode(query)}\` matches ${sections.length} sections of ${where}:\n${list.map((l) => `• ${l}`).join('\n')}`
    : `No section of ${where} matches \`${escapeCode(query)}\`.${list.length ? ` ${didYouMean(list)}` : ''}`;
  return [section(`${text}\n\`/runbook ${escapeCode(runbook.id)}\` lists its sections by number.`)];
}

export const RUNBOOK_HELP = [
  '*/runbook* — runbooks from git, in Slack',
  '• `/runbook` — list every runbook, by folder',
  '• `/runbook &lt;id&gt;` — show one (`id` is its path without `.md`; a unique prefix or the title works too)',
  '• `/runbook &lt;id&gt; &lt;section&gt;` — show one section (its title, a word of it, or its number)',
  '• `/runbook search &lt;words&gt;` — find sections by words',
  '• `/runbook ask &lt;question&gt;` — an answer from the runbooks, citing its sections',
  '• `/runbook help` — this help',
].join('\n');

/** Plain-text fallback for notifications, from the first blocks of a message. */
export function fallbackText(blocks: KnownBlock[]): string {
  for (const b of blocks) {
    if (b.type === 'header') return safePlain(b.text.text);
    // A cut inside an escape ("&am…") would show as garbage, or be read as a stray &.
    if (b.type === 'section' && b.text) return clip(b.text.text, 300).replace(/&[a-z]*…$/, '…');
  }
  return 'Preflight';
}
