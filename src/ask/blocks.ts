import { RUNBOOK_ACTIONS, runbookBodyBlocks } from '../runbooks/blocks.ts';
import type { Runbook } from '../runbooks/model.ts';
import { blockText, button, context, divider, section, splitMrkdwn, type KnownBlock } from '../slack/blocks.ts';
import { SECTION_TEXT } from '../slack/limits.ts';
import { escapeCode, escapeMrkdwn } from '../slack/mrkdwn.ts';
import type { FallbackReason } from './answer.ts';
import type { CheckedAnswer, SourceSection } from './domain.ts';

/** A retrieved section with its runbook, for drawing. */
export interface Shown {
  source: SourceSection;
  runbook: Runbook;
}

export const ASK_USAGE = 'Usage: `/runbook ask &lt;question&gt;`, e.g. `/runbook ask how do I roll back the database`. Answers come from the runbooks, with the sections they come from.';

const LEAD: Record<FallbackReason, string> = {
  'no-model': 'No model configured: the closest sections are…',
  timeout: 'The model did not answer in time: the closest sections are…',
  error: 'The model could not answer: the closest sections are…',
  'no-citation': 'The model cited no section it was given: the closest sections are…',
};

/** How much of each section a fallback answer shows before pointing to the Open button. */
const EXCERPT_TEXT = 1800;
const EXCERPT_BLOCKS = 6;
/** Sections of a model's prose shown (SECTION_TEXT each); an answer is a few sentences, so more is a runaway. */
const ANSWER_SECTIONS = 4;

function where(s: SourceSection): string {
  return `*${escapeMrkdwn(s.runbookTitle)}*${s.path ? ` › ${escapeMrkdwn(s.path)}` : ''}  \`${escapeCode(s.runbookId)}\``;
}

/** The Open button of a section: the same action as /runbook search's, showing `/runbook <id> <section>`. */
function open(s: SourceSection) {
  return button('Open', RUNBOOK_ACTIONS.open, { r: s.runbookId, s: s.sectionKey || undefined, p: 0 });
}

/** The acknowledgement while the model works. */
export function askPendingBlocks(question: string): KnownBlock[] {
  return [context(`🔎 Looking through the runbooks for _${escapeMrkdwn(question)}_ …`)];
}

/** No section matches any word of the question. */
export function askNothingBlocks(question: string): KnownBlock[] {
  return [section(`No runbook section matches _${escapeMrkdwn(question)}_. Try other words, \`/runbook search &lt;words&gt;\`, or \`/runbook\` to list runbooks.`)];
}

/** The first blocks of a section as /runbook shows it (commands fenced, verbatim), cut at whole blocks. */
function excerpt(shown: Shown): { blocks: KnownBlock[]; cut: boolean } {
  const all = runbookBodyBlocks(shown.runbook, shown.source.sectionKey || undefined);
  // The section's own title is already in the line above it.
  const body = all[0]?.type === 'header' ? all.slice(1) : all;
  const blocks: KnownBlock[] = [];
  let text = 0;
  for (const b of body) {
    if (blocks.length >= EXCERPT_BLOCKS || (blocks.length && text + blockText(b) > EXCERPT_TEXT)) break;
    blocks.push(b);
    text += blockText(b);
  }
  return { blocks, cut: blocks.length < body.length };
}

/** The answer without a model (or when it failed): the best three sections themselves, each with Open. */
export function askFallbackBlocks(question: string, reason: FallbackReason, shown: Shown[]): KnownBlock[] {
  const blocks: KnownBlock[] = [context(`💬 _${escapeMrkdwn(question)}_`), section(LEAD[reason])];
  shown.slice(0, 3).forEach((s, i) => {
    if (i) blocks.push(divider());
    blocks.push(section(`${i + 1}. ${where(s.source)}`, open(s.source)));
    // At most 3 × (title, EXCERPT_BLOCKS, note, divider) blocks: far below MESSAGE_BLOCKS; the rest is one Open away.
    const { blocks: part, cut } = excerpt(s);
    blocks.push(...part);
    if (cut) blocks.push(context('… the rest of this section: *Open*'));
  });
  return blocks;
}

/** A model's checked answer: its prose, the runbook's own commands, and each cited section with Open. */
export function askAnswerBlocks(question: string, checked: CheckedAnswer, model: string): KnownBlock[] {
  const blocks: KnownBlock[] = [context(`💬 _${escapeMrkdwn(question)}_`)];
  const pieces = splitMrkdwn(escapeMrkdwn(checked.answer), SECTION_TEXT);
  for (const piece of pieces.slice(0, ANSWER_SECTIONS)) blocks.push(section(piece));
  if (pieces.length > ANSWER_SECTIONS) blocks.push(context(`… the model's answer goes on for ${pieces.length - ANSWER_SECTIONS} more part${pieces.length - ANSWER_SECTIONS === 1 ? '' : 's'}, not shown: the cited sections below hold it all.`));
  if (checked.commands.length) {
    const text = ['*Commands, as written in the runbook:*', ...checked.commands.slice(0, 10).map((c) => `\`\`\`\n${escapeCode(c.text)}\n\`\`\`\n_from [${c.label}]_`)].join('\n');
    for (const piece of splitMrkdwn(text, SECTION_TEXT).slice(0, 6)) blocks.push(section(piece));
  }
  const notes: string[] = [];
  if (checked.droppedCommands) notes.push(`⚠️ ${checked.droppedCommands} command${checked.droppedCommands === 1 ? '' : 's'} the model wrote ${checked.droppedCommands === 1 ? 'is' : 'are'} not in the runbook and ${checked.droppedCommands === 1 ? 'is' : 'are'} not shown.`);
  if (checked.droppedCitations.length) notes.push(`${checked.droppedCitations.length} citation${checked.droppedCitations.length === 1 ? '' : 's'} naming no section it was given ${checked.droppedCitations.length === 1 ? 'was' : 'were'} dropped.`);
  if (notes.length) blocks.push(context(notes.join('  ')));
  blocks.push(divider(), section('*Sources*'));
  for (const s of checked.cited.slice(0, 8)) blocks.push(section(`[${s.label}] ${where(s)}`, open(s)));
  blocks.push(context(`Answered by \`${escapeCode(model)}\` from the cited sections only; check the runbook before running anything.`));
  return blocks;
}
