import { readFileSync, writeFileSync } from 'node:fs';
import { markdownFiles, runbookId } from './library.ts';
import { repairMojibake } from './mojibake.ts';
import { parseRunbook } from './parse.ts';
import type { Diagnostic, Runbook } from './model.ts';

export interface LintResult {
  file: string;
  runbookId: string;
  taskKeys: Set<string>;
  diagnostics: Diagnostic[];
  fixed: boolean;
}

/** A capability's own check of a parsed runbook (readiness: gates naming nothing), with the text it came from. */
export type LintCheck = (runbook: Runbook, source: string) => Diagnostic[];

/**
 * Lints every runbook below dir: mojibake, duplicate keys, empty sections, front matter, and each of `checks`.
 * With fix, repairs mojibake in place.
 */
export function lintDir(dir: string, opts: { fix?: boolean; checks?: LintCheck[] } = {}): LintResult[] {
  const results: LintResult[] = [];
  const titles = new Map<string, string>();
  for (const file of markdownFiles(dir)) {
    const raw = readFileSync(file, 'utf8');
    let fixed = false;
    if (opts.fix) {
      const repaired = repairMojibake(raw);
      if (repaired.fixes.length) {
        writeFileSync(file, repaired.text);
        fixed = true;
      }
    }
    const source = fixed ? readFileSync(file, 'utf8') : raw;
    const runbook = parseRunbook(runbookId(dir, file), file, source);
    const diagnostics = [...runbook.diagnostics, ...(opts.checks ?? []).flatMap((check) => check(runbook, source))];
    const lower = runbook.id.toLowerCase();
    // Ids that differ only in case would resolve ambiguously on case-insensitive lookups.
    const clash = titles.get(lower);
    if (clash) diagnostics.push({ line: 1, severity: 'warning', message: `id "${runbook.id}" differs only in case from "${clash}"` });
    titles.set(lower, runbook.id);
    results.push({ file, runbookId: runbook.id, taskKeys: new Set(runbook.tasks.map((t) => t.key)), diagnostics: diagnostics.sort((a, b) => a.line - b.line), fixed });
  }
  return results;
}

/** Warns where a checklist item with recorded ticks, owners or due dates is no longer in its runbook (its state would be orphaned). */
export function warnVanishedItems(results: LintResult[], recorded: Array<{ runbookId: string; instanceId: string; itemKey: string }>): void {
  const byId = new Map(results.map((r) => [r.runbookId, r]));
  for (const rec of recorded) {
    const r = byId.get(rec.runbookId);
    if (!r || r.taskKeys.has(rec.itemKey)) continue;
    r.diagnostics.push({ line: 1, severity: 'warning', message: `item "${rec.itemKey}" has recorded state in checklist "${rec.instanceId}" but is no longer in this runbook; add {#${rec.itemKey.split('/').pop()}} to the renamed item to keep it` });
  }
}

/** `file:line: severity: message`, one line each, as editors and CI annotate. */
export function formatLint(results: LintResult[]): string[] {
  return results.flatMap((r) => [
    ...(r.fixed ? [`${r.file}:1: fixed: mojibake repaired`] : []),
    ...r.diagnostics.map((d) => `${r.file}:${d.line}: ${d.severity}: ${d.message}`),
  ]);
}
