import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runbooksDir, SEED } from './support/harness.ts';

// `preflight lint` as a user runs it: the bin, a folder, `file:line: severity: message` lines and an exit code.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/preflight.js');
const temps: string[] = [];
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function dir(files: Record<string, string>, withSeed = false): string {
  const d = runbooksDir(files);
  if (withSeed) cpSync(SEED, join(d, 'production-readiness.md'));
  temps.push(d);
  return d;
}

function lint(...args: string[]): Promise<{ code: number; out: string; lines: string[] }> {
  return new Promise((resolve) => {
    // No database: the recorded-state check is not what these tests are about (a shared one holds others' schemas).
    const env = { ...process.env, DATABASE_URL: '', PREFLIGHT_DATA_DIR: join(ROOT, '.no-such-data-dir') };
    execFile(process.execPath, [BIN, 'lint', ...args], { cwd: ROOT, env }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, out: stdout + stderr, lines: stdout.split('\n').filter(Boolean) });
    });
  });
}

const DUPLICATE_KEYS = ['# Duplicates', '', '## Tasks', '', '- [ ] First thing {#dup}', '- [ ] Second thing {#dup}', ''].join('\n');
const EMPTY_SECTION = ['# Empty', '', '## Has content', '', 'Some text.', '', '## Nothing here', '', '## After', '', 'More text.', ''].join('\n');
const LOCK_3 = ['---', 'title: Locked', 'lock: 3', '---', '# Locked', '', '- [ ] Only mine to untick', ''].join('\n');
const BAD_FRONT_MATTER = ['---', 'title: [unclosed', 'owner: ops', '---', '# Bad front matter', '', 'Body text.', ''].join('\n');

test('the mis-decoded seed lints with mojibake warnings by line, and exits 0', async () => {
  const d = dir({}, true);
  const file = join(d, 'production-readiness.md');
  const { code, lines } = await lint(d);
  assert.equal(code, 0, lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith(`${file}:6: warning: mojibake`)), lines.slice(0, 5).join('\n'));
  assert.ok(lines.some((l) => l.startsWith(`${file}:256: warning: mojibake`)), 'the Rollback Plan heading too');
  assert.ok(!lines.some((l) => /: error: /.test(l)));
  assert.match(lines[lines.length - 1] ?? '', /^1 runbook, 0 errors, \d+ warnings?$/);
});

test('two items with the same explicit key are an error on the second one’s line, and exit 1', async () => {
  const d = dir({ 'dup.md': DUPLICATE_KEYS });
  const { code, lines } = await lint(d);
  assert.equal(code, 1, lines.join('\n'));
  assert.ok(lines.includes(`${join(d, 'dup.md')}:6: error: duplicate item key {#dup}`), lines.join('\n'));
  assert.match(lines[lines.length - 1] ?? '', /1 error,/);
});

test('an empty section is a warning at its heading’s line', async () => {
  const d = dir({ 'empty.md': EMPTY_SECTION });
  const { code, lines } = await lint(d);
  assert.equal(code, 0);
  assert.deepEqual(lines.slice(0, -1), [`${join(d, 'empty.md')}:7: warning: section "Nothing here" is empty`]);
});

test('broken front matter (not YAML, or lock: 3) is file:line: error and exits 1; an empty file is a warning', async () => {
  const d = dir({ 'ops/bad.md': BAD_FRONT_MATTER, 'ops/lock.md': LOCK_3, 'ops/empty.md': '', 'ops/good.md': '# Good\n\nFine.\n' });
  const { code, lines } = await lint(d);
  assert.equal(code, 1, lines.join('\n'));
  assert.deepEqual(lines.slice(0, -1), [
    `${join(d, 'ops/bad.md')}:3: error: front matter is not valid YAML (so it is ignored): Flow sequence in block collection must be sufficiently indented and end with a ]`,
    `${join(d, 'ops/empty.md')}:1: warning: the runbook is empty`,
    `${join(d, 'ops/lock.md')}:3: error: front matter ignored: lock: Invalid option: expected one of "owner"|"none"`,
  ]);
  assert.equal(lines[lines.length - 1], '4 runbooks, 2 errors, 1 warning');
});

test('a readiness gate naming no section or item is an error at its front matter line; gates that resolve are fine', async () => {
  const gated = ['---', 'gates:', '  Beta: [area-a, "Area B"]', '  Launch:', '    - area-a', '    - area-zz', '---', '# Gated', '', '## Area A', '', '- [ ] One', '', '## Area B', '', '- [ ] Two', ''].join('\n');
  const d = dir({ 'gated.md': gated });
  const { code, lines } = await lint(d);
  assert.equal(code, 1, lines.join('\n'));
  assert.deepEqual(lines.slice(0, -1), [`${join(d, 'gated.md')}:6: error: gate "Launch" names "area-zz", which is no section or item of this runbook (the gate can never be GO)`]);
  assert.equal(lines[lines.length - 1], '1 runbook, 1 error, 0 warnings');
});

test('lint reports every file of a folder in one run, and one error fails it', async () => {
  const d = dir({ 'a/dup.md': DUPLICATE_KEYS, 'b/empty.md': EMPTY_SECTION, 'c/bad.md': BAD_FRONT_MATTER }, true);
  const { code, lines } = await lint(d);
  assert.equal(code, 1);
  for (const f of ['a/dup.md', 'b/empty.md', 'c/bad.md', 'production-readiness.md']) assert.ok(lines.some((l) => l.startsWith(`${join(d, f)}:`)), f);
  assert.match(lines[lines.length - 1] ?? '', /^4 runbooks, 2 errors, \d+ warnings?$/);
});

test('lint --fix rewrites the seed in UTF-8, after which it has no mojibake warnings', async () => {
  const d = dir({}, true);
  const file = join(d, 'production-readiness.md');
  assert.ok(!readFileSync(file, 'utf8').includes('✅ Phase 1'));
  const fixed = await lint(d, '--fix');
  assert.equal(fixed.code, 0);
  assert.ok(fixed.lines.includes(`${file}:1: fixed: mojibake repaired`), fixed.lines.slice(0, 3).join('\n'));
  const text = readFileSync(file, 'utf8');
  assert.ok(text.includes('## ✅ Phase 1 - COMPLETED (2025-10-21)'));
  assert.ok(text.includes('## 🆘 Rollback Plan'));
  assert.ok(!/‚úÖ|üöÄ|‚è≥/.test(text));
  // Only the mojibake changed: the file has as many lines and the same commands.
  assert.equal(text.split('\n').length, readFileSync(SEED, 'utf8').split('\n').length);
  assert.ok(text.includes('pg_restore -h localhost -U postgres -d hamsaya /backups/latest.sql'));

  const again = await lint(d);
  assert.equal(again.code, 0);
  assert.ok(!again.lines.some((l) => /mojibake/.test(l)), again.lines.join('\n'));
  const twice = await lint(d, '--fix');
  assert.ok(!twice.lines.some((l) => /fixed/.test(l)), 'a second --fix changes nothing');
  assert.equal(readFileSync(file, 'utf8'), text);
});
