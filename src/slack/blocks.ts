import type { ActionsBlock, Button, ContextBlock, DividerBlock, HeaderBlock, KnownBlock, SectionBlock } from '@slack/types';
import { BUTTON_TEXT, BUTTON_VALUE, CONTEXT_ELEMENTS, HEADER_TEXT, MESSAGE_BLOCKS, PAGE_TEXT, SECTION_TEXT } from './limits.ts';
import { escapeMrkdwn, safePlain } from './mrkdwn.ts';

export type { KnownBlock };

/** Cuts plain text to max characters with an ellipsis; only for labels whose full text is shown elsewhere. */
export function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('').trimEnd()}…`;
}

/** A header; a title too long for a header becomes a bold section, so no word of it is lost. */
export function header(text: string): HeaderBlock | SectionBlock {
  const plain = safePlain(text.replace(/\s+/g, ' ').trim()) || ' ';
  if ([...plain].length <= HEADER_TEXT) return { type: 'header', text: { type: 'plain_text', text: plain, emoji: true } };
  return section(`*${escapeMrkdwn(text)}*`);
}

/** The one wording for suggestions everywhere: "Did you mean:" and a bullet per choice (mrkdwn, escaped); '' for none. */
export function didYouMean(choices: string[]): string {
  return choices.length ? `Did you mean:\n${choices.map((c) => `• ${c}`).join('\n')}` : '';
}

/** A mrkdwn section; callers split text with splitMrkdwn first, so this never exceeds the limit. */
export function section(mrkdwn: string, accessory?: SectionBlock['accessory']): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: mrkdwn || ' ' }, ...(accessory ? { accessory } : {}) };
}

/** A context line of mrkdwn parts (at most CONTEXT_ELEMENTS). */
export function context(...parts: string[]): ContextBlock {
  return { type: 'context', elements: parts.filter(Boolean).slice(0, CONTEXT_ELEMENTS).map((text) => ({ type: 'mrkdwn', text })) };
}

export function divider(): DividerBlock {
  return { type: 'divider' };
}

/** A button whose value is JSON; action ids come from the capability's exported constants. */
export function button(text: string, actionId: string, value: unknown, style?: 'primary' | 'danger'): Button {
  const json = JSON.stringify(value);
  if (json.length > BUTTON_VALUE) throw new Error(`button value too long for ${actionId}`);
  return { type: 'button', text: { type: 'plain_text', text: clip(safePlain(text), BUTTON_TEXT), emoji: true }, action_id: actionId, value: json, ...(style ? { style } : {}) };
}

export function actions(elements: ActionsBlock['elements'], blockId?: string): ActionsBlock {
  return { type: 'actions', elements, ...(blockId ? { block_id: blockId } : {}) };
}

/**
 * Splits mrkdwn into pieces of at most max characters, at paragraph, then line, then word boundaries.
 * Fenced code is split between lines and each piece re-fenced, so every code line stays whole and copyable.
 */
export function splitMrkdwn(text: string, max = SECTION_TEXT): string[] {
  if (text.length <= max) return [text];
  const pieces: string[] = [];
  let current = '';
  let inFence = false;
  const push = () => {
    if (current) pieces.push(inFence ? `${current}\n\`\`\`` : current);
    current = inFence ? '```\n' : '';
  };
  for (const line of text.split('\n')) {
    const fence = line.trimStart().startsWith('```');
    const reserve = inFence || fence ? 4 : 0; // room for a closing fence
    if (current && current.length + 1 + line.length + reserve > max) push();
    if (line.length + reserve + 4 > max) {
      // One line longer than a whole section: cut it at word boundaries (only prose and pathological code).
      for (const part of hardSplit(line, max - 8)) {
        if (current.length + part.length + 5 > max) push();
        current += (current && !current.endsWith('\n') ? '\n' : '') + part;
      }
    } else {
      current += (current ? '\n' : '') + line;
    }
    if (fence) inFence = !inFence;
  }
  if (current && current !== '```\n') pieces.push(current);
  return pieces;
}

function hardSplit(line: string, max: number): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > max) {
    let cut = rest.lastIndexOf(' ', max);
    if (cut < max / 2) cut = max;
    // Never cut inside an escape such as &amp; (it would show as garbage).
    const amp = rest.lastIndexOf('&', cut);
    if (amp > cut - 6 && rest.indexOf(';', amp) >= cut) cut = amp;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^ /, '');
  }
  out.push(rest);
  return out;
}

/** Characters of text a block carries, to keep pages readable. */
export function blockText(block: KnownBlock): number {
  switch (block.type) {
    case 'section':
      return (block.text?.text.length ?? 0) + (block.fields?.reduce((n, f) => n + f.text.length, 0) ?? 0);
    case 'header':
      return block.text.text.length;
    case 'context':
      return block.elements.reduce((n, e) => n + ('text' in e && typeof e.text === 'string' ? e.text.length : 0), 0);
    default:
      return 0;
  }
}

/** Packs blocks into pages of at most maxBlocks blocks and PAGE_TEXT characters, keeping order. */
export function paginate(blocks: KnownBlock[], maxBlocks = MESSAGE_BLOCKS - 4, maxText = PAGE_TEXT): KnownBlock[][] {
  const pages: KnownBlock[][] = [];
  let page: KnownBlock[] = [];
  let text = 0;
  for (const block of blocks) {
    const size = blockText(block);
    if (page.length && (page.length + 1 > maxBlocks || text + size > maxText)) {
      pages.push(page);
      page = [];
      text = 0;
    }
    // A page never starts with a divider or ends with a header: both would look broken.
    if (!page.length && block.type === 'divider') continue;
    page.push(block);
    text += size;
  }
  if (page.length) pages.push(page);
  for (let i = 0; i < pages.length - 1; i++) {
    const p = pages[i]!;
    const last = p[p.length - 1];
    if (p.length > 1 && last?.type === 'header') pages[i + 1]!.unshift(p.pop()!);
  }
  return pages.length ? pages : [[]];
}
