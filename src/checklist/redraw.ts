import type { Deps } from '../deps.ts';
import type { RedrawKind, Redrawn } from '../jobs/redraw.ts';
import { fallbackText } from '../runbooks/blocks.ts';
import { checklistPages } from './blocks.ts';
import { forgetMessage, getInstance, loadState, messagesOf } from './store.ts';

/** The redraw kind of checklist messages; its ref is the instance id. */
export const CHECKLIST_REDRAW = 'checklist';

/** Every posted page of every copy of an instance, drawn from the database as it is now. */
export async function renderChecklist(deps: Deps, instanceId: string): Promise<Redrawn[]> {
  const { db, library, now } = deps;
  const instance = await getInstance(db, instanceId);
  const runbook = instance && library.get(instance.runbookId);
  if (!instance || !runbook) return [];
  const messages = await messagesOf(db, instanceId);
  if (!messages.length) return [];
  const state = await loadState(db, instanceId);
  const rendered = new Map<string, ReturnType<typeof checklistPages>>();
  return messages.map((m) => {
    const key = m.sectionKey ?? '';
    if (!rendered.has(key)) rendered.set(key, checklistPages({ instance, runbook, state, now: now(), sectionKey: m.sectionKey }));
    const pages = rendered.get(key)!;
    const blocks = pages[Math.min(m.page, pages.length - 1)]!;
    return { channel: m.channel, ts: m.ts, blocks, text: fallbackText(blocks) };
  });
}

/** Checklist messages as a kind of message updated in place through the one scheduler (jobs/redraw.ts). */
export function checklistRedraw(deps: Deps): RedrawKind {
  return {
    render: (instanceId) => renderChecklist(deps, instanceId),
    forget: (channel, ts) => forgetMessage(deps.db, channel, ts),
  };
}
