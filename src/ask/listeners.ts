import type { RespondFn } from '@slack/bolt';
import { withTimeout } from '../db/db.ts';
import type { Deps } from '../deps.ts';
import { allSections, type Block, type Section } from '../runbooks/model.ts';
import { fallbackText } from '../runbooks/blocks.ts';
import type { KnownBlock } from '../slack/blocks.ts';
import { section } from '../slack/blocks.ts';
import { errorText } from '../slack/errors.ts';
import { askModel } from './answer.ts';
import { ASK_USAGE, askAnswerBlocks, askFallbackBlocks, askNothingBlocks, askPendingBlocks, type Shown } from './blocks.ts';
import { retrieve } from './store.ts';

/** Sections the model is given (and the fallback draws from): the best five. */
const SOURCES = 5;
/** Slack waits 3 s for a command's answer: retrieval gets most of that when it is the answer itself. */
const RETRIEVE_MS = 2500;

/** Whether `/runbook <text>` is a question for ask. */
export function isAsk(text: string): boolean {
  return /^ask(\s|$)/i.test(text.trim());
}

/** Every code block of a section's own content, list items and quotes included, as written. */
function codeOf(blocks: Block[]): string[] {
  return blocks.flatMap((b) => (b.kind === 'code' ? [b.code] : b.kind === 'list' ? b.items.flatMap((i) => codeOf(i.blocks)) : b.kind === 'quote' ? codeOf(b.blocks) : []));
}

/** Retrieved rows joined with the loaded runbooks (a runbook removed since indexing is skipped), labelled S1… */
async function sources(deps: Deps, question: string): Promise<Shown[]> {
  const rows = await withTimeout(retrieve(deps.db, question, SOURCES), RETRIEVE_MS);
  const shown: Shown[] = [];
  for (const r of rows) {
    const runbook = deps.library.get(r.runbookId);
    const sec: Section | undefined = !runbook ? undefined : r.sectionKey ? allSections(runbook).find((s) => s.key === r.sectionKey) : runbook.root;
    if (!runbook || !sec) continue;
    shown.push({ runbook, source: { label: `S${shown.length + 1}`, runbookId: runbook.id, runbookTitle: runbook.title, sectionKey: sec.key, path: sec.path.join(' › '), text: r.body, code: codeOf(sec.blocks) } });
  }
  return shown;
}

const reply = (blocks: KnownBlock[]) => ({ response_type: 'ephemeral' as const, blocks, text: fallbackText(blocks) });

/**
 * `/runbook ask <question>`. Without a model the closest sections are the acknowledgement itself; with one,
 * the acknowledgement is immediate and the answer follows through response_url within the model's budget.
 */
export async function handleAsk(deps: Deps, text: string, ack: (body: ReturnType<typeof reply>) => Promise<void>, respond: RespondFn): Promise<void> {
  const question = text.trim().replace(/^ask\s*/i, '').trim();
  if (!question) return ack(reply([section(ASK_USAGE)]));
  if (!deps.config.OPENAI_API_KEY) {
    try {
      const shown = await sources(deps, question);
      return await ack(reply(shown.length ? askFallbackBlocks(question, 'no-model', shown) : askNothingBlocks(question)));
    } catch (err) {
      deps.log.warn({ err }, '/runbook ask failed');
      return ack(reply([section(errorText(err))]));
    }
  }
  await ack(reply(askPendingBlocks(question)));
  try {
    const shown = await sources(deps, question);
    if (!shown.length) return void (await respond(reply(askNothingBlocks(question))));
    const outcome = await askModel(deps.config, question, shown.map((s) => s.source), deps.config.ASK_MODEL_TIMEOUT_MS);
    if (outcome.kind === 'fallback' && outcome.reason !== 'no-model') deps.log.warn({ reason: outcome.reason, detail: outcome.detail }, '/runbook ask: model not used');
    await respond(reply(outcome.kind === 'answer' ? askAnswerBlocks(question, outcome.checked, outcome.model) : askFallbackBlocks(question, outcome.reason, shown)));
  } catch (err) {
    deps.log.warn({ err }, '/runbook ask failed');
    await respond(reply([section(errorText(err))]));
  }
}
