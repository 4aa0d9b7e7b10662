/** Something the console user can press or tick by number. */
export interface Target {
  n: number;
  kind: 'button' | 'checkbox' | 'select';
  actionId: string;
  blockId?: string;
  value?: string;
  /** For a checkbox: the option it toggles, and every option of its element with what is ticked now. */
  option?: Option;
  element?: { options: Option[]; initial: Option[] };
  /** For a select: its options. */
  options?: Option[];
}

interface Option {
  text: { type: string; text: string };
  value: string;
  description?: { type: string; text: string };
}

interface AnyBlock {
  type: string;
  block_id?: string;
  text?: { type: string; text: string };
  fields?: Array<{ text: string }>;
  elements?: AnyElement[];
  accessory?: AnyElement;
  element?: AnyElement;
  label?: { text: string };
}

interface AnyElement {
  type: string;
  action_id?: string;
  text?: { text: string } | string;
  value?: string;
  options?: Option[];
  initial_options?: Option[];
  placeholder?: { text: string };
}

const BOLD = '\x1b[1m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

/** Escapes undone: what a reader copies out of Slack. */
function unescape(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Slack mrkdwn outside code: links, mentions and dates resolved, bold drawn, escapes undone. */
function proseToText(text: string, color: boolean, names?: (id: string) => string | undefined): string {
  return unescape(
    text
      .replace(/<!date\^\d+\^[^|>]*\|([^>]*)>/g, '$1')
      .replace(/<@([UW][A-Z0-9]+)(?:\|([^>]*))?>/g, (_, id: string, label?: string) => `@${names?.(id) ?? label ?? id}`)
      .replace(/<!(channel|here|everyone)>/g, '@$1')
      .replace(/<([^|>]+)\|([^>]+)>/g, '$2 ($1)')
      .replace(/<([^>]+)>/g, '$1')
      // Slack bolds *x* only when the marks touch the text: "* * *" in a crontab stays as written.
      .replace(/(^|[\s(_~])\*(\S(?:[^*\n]*\S)?)\*(?=$|[\s).,:;!?_~])/g, color ? `$1${BOLD}$2${RESET}` : '$1$2'),
  ).replace(/\u200b/g, '');
}

/**
 * Slack mrkdwn as terminal text. Code blocks and code spans are copied exactly: Slack applies no formatting
 * inside them, so neither does the console (only the escapes are undone).
 */
export function mrkdwnToText(text: string, color = true, names?: (id: string) => string | undefined): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(/```[\s\S]*?```|`[^`\n]+`/g)) {
    // A span's backticks are Slack's markup, not its text (copying from Slack leaves them out); fences stay as lines.
    const code = m[0].startsWith('```') ? m[0] : m[0].slice(1, -1);
    out += proseToText(text.slice(last, m.index), color, names) + unescape(code);
    last = m.index + m[0].length;
  }
  return out + proseToText(text.slice(last), color, names);
}

/** Draws Block Kit as readable text and numbers every button, checkbox and menu from `start`. */
/** `names` turns user ids into the names Slack would show for them. */
export function renderBlocks(blocks: unknown[], start = 1, color = true, names?: (id: string) => string | undefined): { text: string; targets: Target[] } {
  const out: string[] = [];
  const targets: Target[] = [];
  const dim = (s: string) => (color ? `${DIM}${s}${RESET}` : s);
  const bold = (s: string) => (color ? `${BOLD}${s}${RESET}` : s);
  const element = (el: AnyElement, blockId?: string): string => {
    const label = typeof el.text === 'string' ? el.text : el.text?.text ?? '';
    switch (el.type) {
      case 'button': {
        const n = start + targets.length;
        targets.push({ n, kind: 'button', actionId: el.action_id ?? '', blockId, value: el.value });
        return `[${n}] ${label}`;
      }
      case 'static_select':
      case 'overflow': {
        const n = start + targets.length;
        targets.push({ n, kind: 'select', actionId: el.action_id ?? '', blockId, options: el.options ?? [] });
        return `[${n}] ${el.placeholder?.text ?? 'menu'} ▾ (type "${n} <choice>": ${(el.options ?? []).map((o, i) => `${i + 1}=${o.text.text}`).join(', ')})`;
      }
      case 'checkboxes': {
        const initial = el.initial_options ?? [];
        const lines = (el.options ?? []).map((o) => {
          const n = start + targets.length;
          targets.push({ n, kind: 'checkbox', actionId: el.action_id ?? '', blockId, option: o, element: { options: el.options ?? [], initial } });
          const ticked = initial.some((i) => i.value === o.value);
          const desc = o.description ? `\n         ${dim(mrkdwnToText(o.description.text, color, names))}` : '';
          return `  [${String(n).padStart(2)}] ${ticked ? '☑' : '☐'} ${mrkdwnToText(o.text.text, color, names)}${desc}`;
        });
        return lines.join('\n');
      }
      case 'mrkdwn':
      case 'plain_text':
        return mrkdwnToText(label, color, names);
      case 'image':
        return '[image]';
      default:
        return `[${el.type}]`;
    }
  };
  for (const raw of blocks) {
    const b = raw as AnyBlock;
    switch (b.type) {
      case 'header':
        out.push('', bold(`━━ ${b.text?.text ?? ''} ━━`));
        break;
      case 'section': {
        if (b.text) out.push(mrkdwnToText(b.text.text, color, names));
        for (const f of b.fields ?? []) out.push(mrkdwnToText(f.text, color, names));
        if (b.accessory) out.push(`    ${element(b.accessory, b.block_id)}`);
        break;
      }
      case 'context':
        out.push(dim((b.elements ?? []).map((e) => element(e, b.block_id)).join('  ')));
        break;
      case 'divider':
        out.push(dim('────────────────────────────────────────'));
        break;
      case 'actions':
        out.push((b.elements ?? []).map((e) => element(e, b.block_id)).join(e2nl(b.elements)));
        break;
      case 'input':
        out.push(`${b.label?.text ?? ''}: ${b.element ? element(b.element, b.block_id) : ''}`);
        break;
      default:
        out.push(dim(`[${b.type} block]`));
    }
  }
  return { text: out.join('\n'), targets };
}

/** Checkbox groups go one per line; buttons side by side. */
function e2nl(elements?: AnyElement[]): string {
  return elements?.some((e) => e.type === 'checkboxes') ? '\n' : '   ';
}
