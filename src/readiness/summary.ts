// The digest's summary line: the plain template, or two sentences from the model that may use only numbers in the data.
import type { Logger } from '../log.ts';
import type { Readiness } from './domain.ts';

/** The model gets this long; the digest is never held up past 10 s by it (Slack-side there is no wait at all). */
export const SUMMARY_TIMEOUT_MS = 5000;

let openaiModule: Promise<typeof import('openai')> | undefined;

/** Loads the OpenAI client once (at registration when a key is set), so its import is not counted against the model's time. */
export function loadOpenAI(): Promise<typeof import('openai')> {
  return (openaiModule ??= import('openai'));
}

/** The figures the model is given: exactly what the digest shows, nothing else. */
export function figures(list: Readiness[]): Array<Record<string, unknown>> {
  return list.slice(0, 20).map((r) => ({
    checklist: r.instance.name,
    overallPercent: r.overall.pct,
    itemsTicked: r.overall.done,
    itemsTotal: r.overall.total,
    ...(r.declared?.overall !== undefined ? { declaredPercent: r.declared.overall } : {}),
    ...(r.daysLeft !== undefined ? { daysToLaunch: r.daysLeft } : {}),
    ...(r.change ? { itemsChangedSinceLastSnapshot: r.change.items, pointsChangedSinceLastSnapshot: r.change.points } : {}),
    blockers: r.blockers.length,
    gates: r.gates.map((g) => ({ gate: g.name, status: g.go ? 'GO' : 'NO-GO', itemsMissing: g.missing.length })),
  }));
}

/** The plain two-sentence summary, from the same figures. */
export function templateSummary(list: Readiness[]): string {
  const top = list[0];
  if (!top) return 'No checklists yet.';
  const launch = top.daysLeft === undefined ? '' : top.daysLeft >= 0 ? `, launching in ${top.daysLeft} days` : `, launch date passed ${-top.daysLeft} days ago`;
  const change = top.change ? ` (${top.change.items >= 0 ? '+' : ''}${top.change.items} items since ${top.change.yesterday ? 'yesterday' : top.change.since})` : '';
  const first = `${top.instance.name} is ${top.overall.pct}% ready: ${top.overall.done} of ${top.overall.total} items ticked${change}${launch}.`;
  const nogo = top.gates.filter((g) => !g.go).length;
  const gates = top.gates.length ? `${nogo} of ${top.gates.length} gates are NO-GO` : 'no gates are defined';
  const others = list.length > 1 ? `; ${list.length - 1} other checklists follow` : '';
  const blockers = top.blockers.length === 1 ? '1 blocker remains' : `${top.blockers.length} blockers remain`;
  return `${first} ${blockers} and ${gates}${others}.`;
}

/** Every number written in a text, as it would be compared ("36%" → "36", "1,200" → "1200", "-3" → "3"). */
export function numbersIn(text: string): string[] {
  return [...text.matchAll(/\d[\d,]*(?:\.\d+)?/g)].map((m) => String(Number(m[0].replace(/,/g, ''))));
}

/** True when every number of the summary appears in the data. */
export function onlyKnownNumbers(summary: string, data: unknown): boolean {
  const known = new Set(numbersIn(JSON.stringify(data)));
  return numbersIn(summary).every((n) => known.has(n));
}

/** The summary line: the model's when configured, answering in time and inventing no number; else the template. */
export async function summarize(list: Readiness[], opts: { apiKey?: string; baseURL?: string; model: string; log: Logger; timeoutMs?: number }): Promise<{ text: string; source: 'model' | 'template' }> {
  const template = { text: templateSummary(list), source: 'template' as const };
  if (!opts.apiKey || !list.length) return template;
  const data = figures(list);
  const { default: OpenAI } = await loadOpenAI().catch(() => ({ default: undefined }));
  if (!OpenAI) return template;
  const timeoutMs = opts.timeoutMs ?? SUMMARY_TIMEOUT_MS;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, timeout: timeoutMs, maxRetries: 0 });
    const answer = await client.chat.completions.create(
      {
        model: opts.model,
        temperature: 0,
        max_tokens: 150,
        messages: [
          { role: 'system', content: 'You write a two-sentence status summary of launch readiness for managers. Use only the figures given; never compute, round or invent a number.' },
          { role: 'user', content: JSON.stringify(data) },
        ],
      },
      { signal: abort.signal },
    );
    const text = answer.choices[0]?.message?.content?.replace(/\s+/g, ' ').trim() ?? '';
    if (!text || text.length > 500) return template;
    if (!onlyKnownNumbers(text, data)) {
      opts.log.info({ summary: text }, 'model summary used a number not in the data; the template is used');
      return template;
    }
    return { text, source: 'model' };
  } catch (err) {
    opts.log.warn({ err: (err as Error).message }, 'model summary failed; the template is used');
    return template;
  } finally {
    clearTimeout(timer);
  }
}
