import { createHash } from 'node:crypto';
import { Lexer, type Token, type Tokens } from 'marked';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { escapeCode, escapeMrkdwn, mrkdwnLink } from '../slack/mrkdwn.ts';
import { repairMojibake } from './mojibake.ts';
import type { Block, Budget, Diagnostic, FrontMatter, Inline, ListItem, Priority, Runbook, Section, TaskItem } from './model.ts';

/**
 * The front matter, one zod object for every capability: add a field here to give it meaning. Keys it does not
 * name are kept (passthrough) and are no error, so runbooks written for other tools or a newer Preflight load.
 */
export const frontMatterSchema = z
  .object({
    title: z.string().optional(),
    kind: z.string().optional(),
    owner: z.string().optional(),
    tags: z.union([z.array(z.string()), z.string().transform((s) => s.split(/\s*,\s*/))]).optional(),
    lock: z.enum(['owner', 'none']).optional(),
    gates: z.record(z.string(), z.array(z.string()).min(1)).optional(),
    weights: z.record(z.string(), z.number().positive()).optional(),
  })
  .passthrough();

const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/;
const EXPLICIT_KEY = /\s*\{#([A-Za-z0-9][\w.-]{0,80})\}\s*$/;
const PRIORITY = /\((critical|high|medium|low)\s+priority\)/i;
const UNIT = '(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)';
const LIMIT_BUDGET = new RegExp(`\\(\\s*(?:<|≤|<=|under|within|max\\.?)\\s*(\\d+(?:\\.\\d+)?)\\s*${UNIT}\\s*\\)`, 'i');
const ESTIMATE_BUDGET = new RegExp(`time required\\s*:?\\s*(\\d+(?:\\.\\d+)?)(?:\\s*[-–]\\s*(\\d+(?:\\.\\d+)?))?\\s*${UNIT}\\b`, 'i');
const MAX_KEY = 100;

/** Parses one runbook file. `id` is its path below the runbooks folder, without `.md`. */
export function parseRunbook(id: string, file: string, raw: string): Runbook {
  const diagnostics: Diagnostic[] = [];
  const repaired = repairMojibake(raw);
  for (const fix of repaired.fixes) {
    diagnostics.push({ line: fix.line, severity: 'warning', message: `mojibake "${fix.found}" read as "${fix.repaired}" (UTF-8 decoded as Mac Roman); run preflight lint --fix` });
  }
  const source = repaired.text;

  let meta: FrontMatter = {};
  let body = source;
  let bodyLine = 1;
  const fm = FRONT_MATTER.exec(source);
  if (fm) {
    body = source.slice(fm[0].length);
    bodyLine = 1 + countLines(fm[0]);
    meta = frontMatter(fm[1] ?? '', diagnostics);
  }
  // An empty runbook is most likely a mistake (a file created and never written, or text lost in a merge).
  if (!body.trim()) diagnostics.push({ line: bodyLine, severity: 'warning', message: fm ? 'no text after the front matter' : 'the runbook is empty' });

  const root: Section = { key: '', title: '', depth: 0, path: [], line: 1, blocks: [], children: [] };
  const ctx: Context = { diagnostics, tasks: [], sectionKeys: new Set(['']), taskKeys: new Set() };
  const stack: Section[] = [root];
  let firstH1: string | undefined;
  let line = bodyLine;

  for (const token of new Lexer({ gfm: true }).lex(body)) {
    const at = line;
    line += countLines(token.raw);
    if (token.type === 'heading') {
      const heading = token as Tokens.Heading;
      const title = inline(heading.tokens).plain.trim();
      // The first level-1 heading names the runbook; it is not a section of its own.
      if (heading.depth === 1 && firstH1 === undefined && root.children.length === 0) {
        firstH1 = title;
        continue;
      }
      while (stack.length > 1 && stack[stack.length - 1]!.depth >= heading.depth) stack.pop();
      const parent = stack[stack.length - 1]!;
      const path = [...parent.path, title];
      const section: Section = {
        key: uniqueKey(path.map(slug).filter(Boolean).join('/') || 'section', ctx.sectionKeys),
        title,
        depth: heading.depth,
        path,
        line: at,
        blocks: [],
        children: [],
        budget: budgetOf(title),
        priority: priorityOf(title),
      };
      parent.children.push(section);
      stack.push(section);
      continue;
    }
    const section = stack[stack.length - 1]!;
    section.blocks.push(...blockOf(token, at, section, ctx));
    if (!section.budget) section.budget = estimateIn(section.blocks);
  }

  checkEmptySections(root, diagnostics);
  const title = meta.title?.trim() || firstH1 || id.split('/').pop() || id;
  return {
    id,
    file,
    title,
    meta,
    root: { ...root, title },
    tasks: ctx.tasks,
    diagnostics,
    source,
    checksum: createHash('sha256').update(source).digest('hex'),
  };
}

/**
 * Parses front matter (the text between the `---` lines, which starts on the file's line 2). Front matter carries
 * behaviour (`lock: owner`), so YAML or schema problems are errors, not warnings: ignoring them silently would
 * change what the runbook means. On an error the runbook is served without its front matter.
 */
function frontMatter(yaml: string, diagnostics: Diagnostic[]): FrontMatter {
  const FIRST_LINE = 2;
  let data: unknown;
  try {
    data = parseYaml(yaml) ?? {};
  } catch (err) {
    const at = (err as { linePos?: Array<{ line: number }> }).linePos?.[0]?.line ?? 1;
    const message = (err as Error).message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    diagnostics.push({ line: FIRST_LINE + at - 1, severity: 'error', message: `front matter is not valid YAML (so it is ignored): ${message}` });
    return {};
  }
  const keyLine = (key: PropertyKey | undefined) => {
    const i = key === undefined ? -1 : yaml.split('\n').findIndex((l) => l.startsWith(`${String(key)}:`));
    return FIRST_LINE + Math.max(i, 0);
  };
  const parsed = frontMatterSchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
      diagnostics.push({ line: keyLine(issue.path[0]), severity: 'error', message: `front matter ignored: ${where}${issue.message}` });
    }
    return {};
  }
  // Keys the schema does not name (Hugo's `weight`, a newer Preflight's fields) are kept without a word.
  return parsed.data as FrontMatter;
}

interface Context {
  diagnostics: Diagnostic[];
  tasks: TaskItem[];
  sectionKeys: Set<string>;
  taskKeys: Set<string>;
}

function blockOf(token: Token, line: number, section: Section, ctx: Context): Block[] {
  switch (token.type) {
    case 'paragraph':
    case 'text': {
      const t = token as Tokens.Paragraph | Tokens.Text;
      const text = t.tokens ? inline(t.tokens) : plainInline(t.text);
      return text.plain.trim() ? [{ kind: 'text', ...text, line }] : [];
    }
    case 'code': {
      const t = token as Tokens.Code;
      return [{ kind: 'code', lang: t.lang || undefined, code: t.text.replace(/\n+$/, ''), line }];
    }
    case 'list':
      return [listOf(token as Tokens.List, line, section, ctx)];
    case 'table': {
      const t = token as Tokens.Table;
      return [{ kind: 'table', header: t.header.map((c) => inline(c.tokens).plain), rows: t.rows.map((r) => r.map((c) => inline(c.tokens).plain)), line }];
    }
    case 'blockquote': {
      const t = token as Tokens.Blockquote;
      return [{ kind: 'quote', blocks: blocksOf(t.tokens, line, section, ctx), line }];
    }
    case 'hr':
      return [{ kind: 'rule', line }];
    case 'html': {
      // Raw HTML (<details>, <summary>, comments) cannot be shown in Slack; its text is kept.
      const text = stripHtml((token as Tokens.HTML).text);
      return text.trim() ? [{ kind: 'text', ...plainInline(text), line }] : [];
    }
    case 'space':
    case 'def':
    case 'checkbox':
      return [];
    default:
      // Any other token (extensions) keeps its raw text rather than vanishing.
      return token.raw.trim() ? [{ kind: 'text', ...plainInline(token.raw), line }] : [];
  }
}

/** Block tokens in order, each with the line it starts on. */
function blocksOf(tokens: Token[], line: number, section: Section, ctx: Context): Block[] {
  const out: Block[] = [];
  for (const token of tokens) {
    out.push(...blockOf(token, line, section, ctx));
    line += countLines(token.raw);
  }
  return out;
}

function listOf(list: Tokens.List, line: number, section: Section, ctx: Context): Block {
  const items: ListItem[] = [];
  let at = line;
  for (const item of list.items) {
    const [first, ...rest] = item.tokens.filter((t) => t.type !== 'checkbox');
    const lead = first && (first.type === 'text' || first.type === 'paragraph') ? first : undefined;
    let text: Inline = lead ? ((lead as Tokens.Text).tokens ? inline((lead as Tokens.Text).tokens!) : plainInline((lead as Tokens.Text).text)) : { mrkdwn: '', plain: '' };
    const nested = lead ? rest : item.tokens.filter((t) => t.type !== 'checkbox');
    const leadLines = lead ? countLines(lead.raw) : 0;
    const listItem: ListItem = { ...text, line: at, blocks: [], budget: budgetOf(text.plain), priority: priorityOf(text.plain) };
    if (item.task) {
      const explicit = EXPLICIT_KEY.exec(text.plain);
      if (explicit) {
        text = { plain: text.plain.replace(EXPLICIT_KEY, ''), mrkdwn: text.mrkdwn.replace(EXPLICIT_KEY, '') };
        Object.assign(listItem, text);
      }
      const key = taskKey(explicit?.[1], section, text.plain, at, ctx);
      listItem.task = { checked: item.checked === true, key };
      ctx.tasks.push({ key, ...text, line: at, checked: item.checked === true, sectionKey: section.key, sectionPath: section.path });
    }
    listItem.blocks = blocksOf(nested, at + leadLines, section, ctx);
    items.push(listItem);
    at += countLines(item.raw);
  }
  return { kind: 'list', ordered: list.ordered, start: typeof list.start === 'number' ? list.start : 1, items, line };
}

function taskKey(explicit: string | undefined, section: Section, text: string, line: number, ctx: Context): string {
  if (explicit) {
    if (ctx.taskKeys.has(explicit)) ctx.diagnostics.push({ line, severity: 'error', message: `duplicate item key {#${explicit}}` });
    ctx.taskKeys.add(explicit);
    return explicit;
  }
  let key = [section.path.map(slug).filter(Boolean).join('/'), slug(text) || 'item'].filter(Boolean).join('/');
  // Long texts keep a readable head plus a hash of the whole, so keys stay short (they become action ids).
  if (key.length > MAX_KEY) key = `${key.slice(0, MAX_KEY - 9)}-${createHash('sha1').update(key).digest('hex').slice(0, 8)}`;
  if (ctx.taskKeys.has(key)) {
    ctx.diagnostics.push({ line, severity: 'warning', message: `duplicate item "${text}" in the same section; add {#key} to keep its state stable` });
  }
  return uniqueKey(key, ctx.taskKeys);
}

function uniqueKey(base: string, taken: Set<string>): string {
  let key = base;
  for (let n = 2; taken.has(key); n++) key = `${base}-${n}`;
  taken.add(key);
  return key;
}

/** Inline tokens → mrkdwn (escaped) and plain text, in one walk. */
export function inline(tokens: Token[]): Inline {
  let mrkdwn = '';
  let plain = '';
  for (const token of tokens) {
    switch (token.type) {
      case 'text':
      case 'escape': {
        const t = token as Tokens.Text;
        if (t.tokens?.length) {
          const inner = inline(t.tokens);
          mrkdwn += inner.mrkdwn;
          plain += inner.plain;
        } else {
          mrkdwn += escapeMrkdwn(t.text);
          plain += t.text;
        }
        break;
      }
      case 'strong':
      case 'em':
      case 'del': {
        const inner = inline((token as Tokens.Strong).tokens);
        const mark = token.type === 'strong' ? '*' : token.type === 'em' ? '_' : '~';
        // Slack needs the marks against the text: "* x *" would not format.
        const m = /^(\s*)([\s\S]*?)(\s*)$/.exec(inner.mrkdwn)!;
        mrkdwn += m[2] ? `${m[1]}${mark}${m[2]}${mark}${m[3]}` : inner.mrkdwn;
        plain += inner.plain;
        break;
      }
      case 'codespan': {
        const text = (token as Tokens.Codespan).text;
        mrkdwn += `\`${escapeCode(text)}\``;
        plain += text;
        break;
      }
      case 'link': {
        const t = token as Tokens.Link;
        const inner = inline(t.tokens);
        // In-page anchors mean nothing in Slack; the label stays.
        if (t.href.startsWith('#') || !/^(https?|mailto):/i.test(t.href)) mrkdwn += inner.mrkdwn;
        else mrkdwn += inner.plain === t.href ? mrkdwnLink(t.href) : mrkdwnLink(t.href, inner.mrkdwn.replace(/[*_~]/g, ''));
        plain += inner.plain;
        break;
      }
      case 'image': {
        const t = token as Tokens.Image;
        const alt = t.text || 'image';
        mrkdwn += /^https?:/i.test(t.href) ? mrkdwnLink(t.href, `image: ${escapeMrkdwn(alt)}`) : `[image: ${escapeMrkdwn(alt)}]`;
        plain += alt;
        break;
      }
      case 'br':
        mrkdwn += '\n';
        plain += '\n';
        break;
      case 'html': {
        const text = (token as Tokens.Tag).text;
        if (/^<br\s*\/?>$/i.test(text)) {
          mrkdwn += '\n';
          plain += '\n';
        } else if (!isHtmlTag(text)) {
          // Not a tag (e.g. "<previous-commit>" or "<none>"): it is text and must show.
          mrkdwn += escapeMrkdwn(text);
          plain += text;
        }
        break;
      }
      case 'checkbox':
        break;
      default: {
        const t = token as Tokens.Generic;
        mrkdwn += escapeMrkdwn(t.raw);
        plain += t.raw;
      }
    }
  }
  return { mrkdwn, plain };
}

function plainInline(text: string): Inline {
  return { mrkdwn: escapeMrkdwn(text), plain: text };
}

// Tags that are formatting to drop; anything else in angle brackets ("<previous-commit>") is text to keep.
const HTML_TAGS = new Set('a abbr b big blockquote br center code dd del details div dl dt em font h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre s small span strong sub summary sup table tbody td th thead tr tt u ul'.split(' '));
const TAG = /<\/?([A-Za-z][A-Za-z0-9]*)(?:\s[^>]*)?\/?>|<!--[\s\S]*?-->/g;

function isHtmlTag(text: string): boolean {
  const m = /^<\/?([A-Za-z][A-Za-z0-9]*)(?:\s[^>]*)?\/?>$/.exec(text.trim());
  return text.trim().startsWith('<!--') || (!!m && HTML_TAGS.has(m[1]!.toLowerCase()));
}

function stripHtml(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(TAG, (tag, name: string | undefined) => (name === undefined || HTML_TAGS.has(name.toLowerCase()) ? '' : tag))
    .replace(/\n{3,}/g, '\n\n');
}

/** A URL- and key-safe slug: lower case, ASCII letters and digits, dashes. */
export function slug(text: string): string {
  return text
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function toMinutes(value: number, unit: string): number {
  const u = unit.toLowerCase();
  if (u.startsWith('s')) return value / 60;
  if (u.startsWith('h')) return value * 60;
  if (u.startsWith('d')) return value * 24 * 60;
  return value;
}

/** "(< 5 minutes)" or "Time Required: 6-8 hours" (the upper bound) in text, if written. */
export function budgetOf(text: string): Budget | undefined {
  const limit = LIMIT_BUDGET.exec(text);
  if (limit) return { minutes: toMinutes(Number(limit[1]), limit[2]!), kind: 'limit', text: limit[0].replace(/^\(|\)$/g, '').trim() };
  const est = ESTIMATE_BUDGET.exec(text);
  if (est) {
    const value = Number(est[2] ?? est[1]);
    return { minutes: toMinutes(value, est[3]!), kind: 'estimate', text: est[0].replace(/^time required\s*:?\s*/i, '') };
  }
  return undefined;
}

function estimateIn(blocks: Block[]): Budget | undefined {
  for (const b of blocks) if (b.kind === 'text') {
    const budget = budgetOf(b.plain);
    if (budget) return budget;
  }
  return undefined;
}

/** "(HIGH PRIORITY)" and its kin. */
export function priorityOf(text: string): Priority | undefined {
  return PRIORITY.exec(text)?.[1]!.toLowerCase() as Priority | undefined;
}

function checkEmptySections(section: Section, diagnostics: Diagnostic[]): void {
  for (const child of section.children) {
    if (child.blocks.length === 0 && child.children.length === 0) {
      diagnostics.push({ line: child.line, severity: 'warning', message: `section "${child.title}" is empty` });
    }
    checkEmptySections(child, diagnostics);
  }
}
