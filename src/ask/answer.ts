import OpenAI from 'openai';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { checkAnswer, redact, type CheckedAnswer, type SourceSection } from './domain.ts';

/** What the model must return: prose, the labels of the sections it used, and commands copied from them. */
export const modelAnswerSchema = z.object({
  answer: z.string(),
  citations: z.array(z.string()),
  commands: z.array(z.object({ source: z.string(), command: z.string() })),
});

// Structured output: the same schema as JSON Schema, in strict mode (every field required, nothing extra).
const { $schema: _, ...jsonSchema } = z.toJSONSchema(modelAnswerSchema, { target: 'draft-7' }) as Record<string, unknown>;

/** Characters of one section's text the model gets; a section longer than this is cut (it can still be opened). */
export const SOURCE_TEXT = 4000;

export const INSTRUCTIONS = [
  'You answer questions from an on-call engineer using ONLY the runbook sections given below, labelled [S1], [S2] and so on.',
  'If the sections do not answer the question, say so in one sentence and cite nothing. Never use outside knowledge.',
  'Answer in a few short sentences of plain text. Do not put commands in the answer; list them in "commands", each copied exactly,',
  'line for line, from the code of the section named in "source" (its label, e.g. "S1"). Never write a command that is not in a section.',
  '"citations" lists the labels of the sections the answer uses. Do not mention people, channels or groups, and do not add links.',
].join(' ');

/** Why the answer is the closest sections rather than the model's. */
export type FallbackReason = 'no-model' | 'timeout' | 'error' | 'no-citation';

export type ModelOutcome = { kind: 'answer'; checked: CheckedAnswer; model: string } | { kind: 'fallback'; reason: FallbackReason; detail?: string };

/** Every secret value in the configuration, so none of them reaches the model. */
export function configSecrets(config: Config): string[] {
  const out = [config.SLACK_BOT_TOKEN, config.SLACK_SIGNING_SECRET, config.SLACK_APP_TOKEN, config.OPENAI_API_KEY];
  if (config.DATABASE_URL) {
    try {
      const u = new URL(config.DATABASE_URL);
      out.push(decodeURIComponent(u.password), config.DATABASE_URL);
    } catch {
      out.push(config.DATABASE_URL);
    }
  }
  return out.filter((s): s is string => !!s);
}

/** The chat messages for a question: instructions, then the question and the sections, secrets redacted. */
export function buildMessages(question: string, sources: SourceSection[], secrets: string[]): Array<{ role: 'system' | 'user'; content: string }> {
  const sections = sources.map((s) => {
    const text = s.text.length > SOURCE_TEXT ? `${s.text.slice(0, SOURCE_TEXT)}\n[… section continues]` : s.text;
    return `[${s.label}] ${s.runbookTitle} (${s.runbookId}) › ${s.path || 'introduction'}\n${text}`;
  });
  return [
    { role: 'system', content: INSTRUCTIONS },
    { role: 'user', content: redact(`Question: ${question}\n\nRunbook sections:\n\n${sections.join('\n\n---\n\n')}`, secrets) },
  ];
}

/**
 * Asks the model (OPENAI_BASE_URL, OPENAI_MODEL) within budgetMs and checks what it says against the sources.
 * Never throws: no key, a timeout, an error, an invalid reply or no valid citation is a fallback.
 */
export async function askModel(config: Config, question: string, sources: SourceSection[], budgetMs: number): Promise<ModelOutcome> {
  if (!config.OPENAI_API_KEY) return { kind: 'fallback', reason: 'no-model' };
  const client = new OpenAI({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL, maxRetries: 0, timeout: budgetMs });
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, budgetMs);
  try {
    const completion = await client.chat.completions.create(
      {
        model: config.OPENAI_MODEL,
        temperature: 0,
        messages: buildMessages(question, sources, configSecrets(config)),
        response_format: { type: 'json_schema', json_schema: { name: 'runbook_answer', strict: true, schema: jsonSchema } },
      },
      { signal: abort.signal },
    );
    const content = completion.choices[0]?.message?.content;
    if (!content) return { kind: 'fallback', reason: 'error', detail: 'empty reply' };
    let json: unknown;
    try {
      json = JSON.parse(content);
    } catch {
      return { kind: 'fallback', reason: 'error', detail: 'reply is not JSON' };
    }
    const parsed = modelAnswerSchema.safeParse(json);
    if (!parsed.success) return { kind: 'fallback', reason: 'error', detail: 'reply does not match the schema' };
    const checked = checkAnswer(parsed.data, sources);
    if (!checked.cited.length) return { kind: 'fallback', reason: 'no-citation' };
    return { kind: 'answer', checked, model: completion.model || config.OPENAI_MODEL };
  } catch (err) {
    if (timedOut) return { kind: 'fallback', reason: 'timeout' };
    return { kind: 'fallback', reason: 'error', detail: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}
