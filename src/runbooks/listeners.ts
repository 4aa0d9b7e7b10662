import { basename, resolve } from 'node:path';
import type { AllMiddlewareArgs, App, BlockAction, ButtonAction, SlackActionMiddlewareArgs, StaticSelectAction } from '@slack/bolt';
import { z } from 'zod';
import { withTimeout } from '../db/db.ts';
import type { Deps } from '../deps.ts';
import type { KnownBlock } from '../slack/blocks.ts';
import { section } from '../slack/blocks.ts';
import { errorText } from '../slack/errors.ts';
import { handleAsk, isAsk } from '../ask/listeners.ts';
import {
  ambiguousRunbookBlocks,
  fallbackText,
  notFoundBlocks,
  RUNBOOK_ACTIONS,
  RUNBOOK_HELP,
  runbookListMessage,
  runbookMessage,
  searchResultBlocks,
  sectionChoiceBlocks,
} from './blocks.ts';
import { findSection, respell } from './library.ts';
import type { Runbook } from './model.ts';
import { searchSections } from './store.ts';

const pageRef = z.object({ r: z.string(), s: z.string().optional(), p: z.number().int().min(0) });
const listRef = z.object({ p: z.number().int().min(0) });

export interface Reply {
  blocks: KnownBlock[];
  text: string;
}

function reply(blocks: KnownBlock[]): Reply {
  return { blocks, text: fallbackText(blocks) };
}

/** What `/runbook <text>` answers; pure apart from the search query. */
export async function runbookCommand(deps: Deps, text: string): Promise<Reply> {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [first, ...rest] = words;
  if (!first) return reply(runbookListMessage(deps.library.all(), 0, rootFolder(deps)));
  if (first === 'help' && !rest.length) return reply([section(RUNBOOK_HELP)]);
  if (first === 'search' || first === 'find') {
    const query = rest.join(' ');
    if (!query) return reply([section('Usage: `/runbook search &lt;words&gt;`, e.g. `/runbook search rollback database`')]);
    // Slack waits 3 s for the answer; the search gets most of that, then the user hears why.
    const hits = await withTimeout(searchSections(deps.db, query, (id) => deps.library.get(id)?.title), 2500);
    // Nothing found: a word that is in no runbook is likely a typo, so the nearest spelling is offered.
    return reply(searchResultBlocks(query, hits, hits.length ? undefined : respell(query, deps.library.all())));
  }
  // Titles have spaces: the longest run of leading words that is exactly one runbook's title names it.
  const titled = titleAt(deps, words);
  const found = titled ?? deps.library.resolve(first);
  if (!('runbook' in found)) {
    if (found.ambiguous) return reply(ambiguousRunbookBlocks(first, found.suggestions));
    return reply(notFoundBlocks('runbook', first, found.suggestions.map((r) => r.id), '`/runbook` lists them all.'));
  }
  const runbook = found.runbook;
  const sectionWords = titled ? words.slice(titled.words) : rest;
  if (!sectionWords.length) return reply(runbookMessage(runbook, { r: runbook.id, p: 0 }));
  const wanted = sectionWords.join(' ');
  const sec = findSection(runbook, wanted);
  if (!('section' in sec)) return reply(sectionChoiceBlocks(runbook, wanted, sec.suggestions, !!sec.ambiguous));
  return reply(runbookMessage(runbook, { r: runbook.id, s: sec.section.key, p: 0 }));
}

/** The runbooks folder's own name (RUNBOOKS_DIR), heading the runbooks at its top level. */
function rootFolder(deps: Deps): string {
  return basename(resolve(deps.library.dir)) || 'runbooks';
}

/** The runbook whose whole title is the first n (≥ 2) words, case-insensitive, when exactly one has it. */
function titleAt(deps: Deps, words: string[]): { runbook: Runbook; words: number } | undefined {
  for (let n = words.length; n >= 2; n--) {
    const title = words.slice(0, n).join(' ').toLowerCase();
    const hits = deps.library.all().filter((r) => r.title.replace(/\s+/g, ' ').trim().toLowerCase() === title);
    if (hits.length === 1) return { runbook: hits[0]!, words: n };
  }
  return undefined;
}

/** One page of a runbook for a button or menu; a runbook that vanished since gets a plain message. */
function pageReply(deps: Deps, value: string): Reply {
  const ref = pageRef.parse(JSON.parse(value));
  const runbook = deps.library.get(ref.r);
  if (!runbook) return reply(notFoundBlocks('runbook', ref.r, []));
  return reply(runbookMessage(runbook, ref));
}

type ActionArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction | StaticSelectAction>> & AllMiddlewareArgs;

/** Registers /runbook and its buttons. */
export function register(app: App, deps: Deps): void {
  app.command('/runbook', async ({ command, ack, respond }) => {
    if (isAsk(command.text)) return handleAsk(deps, command.text, ack, respond);
    try {
      const r = await runbookCommand(deps, command.text);
      await ack({ response_type: 'ephemeral', ...r });
    } catch (err) {
      deps.log.warn({ err }, '/runbook failed');
      await ack({ response_type: 'ephemeral', text: errorText(err) });
    }
  });

  const page = async ({ ack, action, respond }: ActionArgs) => {
    await ack();
    try {
      const value = action.type === 'static_select' ? action.selected_option.value : action.value ?? '';
      await respond({ replace_original: true, ...pageReply(deps, value) });
    } catch (err) {
      deps.log.warn({ err }, 'runbook page failed');
      await respond({ replace_original: false, response_type: 'ephemeral', text: errorText(err) });
    }
  };
  app.action(RUNBOOK_ACTIONS.next, page);
  app.action(RUNBOOK_ACTIONS.prev, page);
  app.action(RUNBOOK_ACTIONS.jump, page);
  // Open from search results keeps the results message and answers below it.
  app.action(RUNBOOK_ACTIONS.open, async ({ ack, action, respond }: ActionArgs) => {
    await ack();
    const value = action.type === 'button' ? action.value ?? '' : '';
    await respond({ replace_original: false, response_type: 'ephemeral', ...pageReply(deps, value) });
  });
  app.action(RUNBOOK_ACTIONS.listPage, async ({ ack, action, respond }: ActionArgs) => {
    await ack();
    const { p } = listRef.parse(JSON.parse(action.type === 'button' ? action.value ?? '{}' : '{}'));
    await respond({ replace_original: true, ...reply(runbookListMessage(deps.library.all(), p, rootFolder(deps))) });
  });
}
