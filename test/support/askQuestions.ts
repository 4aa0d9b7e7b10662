import { readFileSync } from 'node:fs';
import { z } from 'zod';

// The /runbook ask question set (test/fixtures/ask/questions.json): read by test/ask*.test.ts and bench/ask.ts.

const questionSet = z.object({
  about: z.string(),
  questions: z.array(z.object({ question: z.string().min(1), answers: z.array(z.object({ runbook: z.string(), section: z.string() })).min(1) })).min(40),
});

export type AskQuestion = z.infer<typeof questionSet>['questions'][number];

/** The question set, validated. */
export function askQuestions(): AskQuestion[] {
  return questionSet.parse(JSON.parse(readFileSync(new URL('../fixtures/ask/questions.json', import.meta.url), 'utf8'))).questions;
}

/**
 * 1-based rank of the first retrieved section that answers q (a named section or a subsection of one), or
 * undefined. `prefix` is where the corpus sits in this runbooks folder (tests put it under `corpus/`).
 */
export function hitRank(q: AskQuestion, retrieved: Array<{ runbookId: string; sectionKey: string }>, prefix = ''): number | undefined {
  const i = retrieved.findIndex((r) =>
    q.answers.some((a) => {
      const id = a.runbook === 'production-readiness' ? a.runbook : `${prefix}${a.runbook}`;
      return r.runbookId === id && (r.sectionKey === a.section || r.sectionKey.startsWith(`${a.section}/`));
    }),
  );
  return i < 0 ? undefined : i + 1;
}
