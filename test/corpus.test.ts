import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { runbookMessage, runbookPages } from '../src/runbooks/blocks.ts';
import { RunbookLibrary } from '../src/runbooks/library.ts';
import { lintDir } from '../src/runbooks/lint.ts';
import { allSections, type Runbook } from '../src/runbooks/model.ts';
import { escapeCode } from '../src/slack/mrkdwn.ts';
import { codeLines, corpusDir } from './support/harness.ts';
import { validateSlack } from './support/validator.ts';

const dir = corpusDir();
after(() => rmSync(dir, { recursive: true, force: true }));
const library = new RunbookLibrary(dir);
const runbooks = library.load();

function allCode(r: Runbook): string[] {
  return [r.root, ...allSections(r)].flatMap((s) => codeLines(s.blocks)).filter((l) => l.trim());
}

function texts(blocks: unknown[]): string {
  return blocks.map((b) => ((b as { text?: { text?: string } }).text?.text ?? '')).join('\n');
}

test('the corpus and the seed all load: ~390 runbooks', () => {
  assert.ok(runbooks.length >= 390, `only ${runbooks.length} runbooks`);
  assert.ok(library.get('production-readiness'));
});

test('every runbook lints without errors', () => {
  const errors = lintDir(dir).flatMap((r) => r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${r.file}:${d.line}: ${d.message}`));
  assert.deepEqual(errors, []);
});

test('every page of every runbook is a message Slack accepts, and every code line is in it', () => {
  let pages = 0;
  let lines = 0;
  for (const r of runbooks) {
    const count = runbookPages(r).length;
    let shown = '';
    for (let p = 0; p < count; p++) {
      const blocks = runbookMessage(r, { r: r.id, p });
      assert.deepEqual(validateSlack('blocks', blocks, 'test'), [], `${r.id} page ${p + 1}`);
      shown += `${texts(blocks)}\n`;
      pages++;
    }
    for (const line of allCode(r)) {
      assert.ok(shown.includes(escapeCode(line)), `${r.id}: code line missing: ${line}`);
      lines++;
    }
  }
  assert.ok(pages >= runbooks.length);
  assert.ok(lines > 1000, `only ${lines} code lines checked`);
});

test('every section of every runbook renders within limits on its own', () => {
  for (const r of runbooks) {
    for (const s of allSections(r)) {
      const blocks = runbookMessage(r, { r: r.id, s: s.key, p: 0 });
      assert.deepEqual(validateSlack('blocks', blocks, 'test'), [], `${r.id} § ${s.title}`);
    }
  }
});
