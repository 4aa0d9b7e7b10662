import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { repairMojibake } from '../src/runbooks/mojibake.ts';

const seedUrl = new URL('fixtures/seed/000_958a511dffd2001a.txt', import.meta.url);
const corpusDir = fileURLToPath(new URL('fixtures/corpus/runbooks', import.meta.url));

/** What a UTF-8 string looks like after its bytes were decoded as Mac Roman. */
function asMacRoman(text: string): string {
  return new TextDecoder('macintosh').decode(new TextEncoder().encode(text));
}

test('the seed checklist gets its emoji back', async () => {
  const seed = await readFile(seedUrl, 'utf8');
  const { text, fixes } = repairMojibake(seed);
  for (const expected of [
    '## ✅ Phase 1 - COMPLETED',
    '## 🚀 Phase 2',
    '⚠️',
    '🟡',
    '## 🔒 Security Checklist',
    '## 📋 Pre-Launch Checklist',
    '## 🆘 Rollback Plan',
    '⏳',
    'User registration → profile creation',
  ]) {
    assert.ok(text.includes(expected), `repaired seed contains ${expected}`);
  }
  assert.ok(!text.includes('‚úÖ'));
  assert.ok(!text.includes('üöÄ'));
  assert.ok(!/[‚√¬]/.test(text), 'no mojibake lead characters remain');
  assert.equal(text.split('\n').length, seed.split('\n').length, 'line count unchanged');

  assert.deepEqual(fixes[0], { line: 6, found: '‚úÖ', repaired: '✅' });
  assert.deepEqual(
    fixes.find((f) => f.repaired === '⚠️'),
    { line: 158, found: '‚ö†Ô∏è', repaired: '⚠️' },
  );
  const seedLines = seed.split('\n');
  for (const fix of fixes) {
    assert.ok(seedLines[fix.line - 1]?.includes(fix.found), `line ${fix.line} holds ${fix.found}`);
  }
});

test('legit non-ASCII text comes back unchanged', () => {
  for (const legit of [
    'café naïve – ’ “quotes” ü',
    'Ünïcödé — “Étude” à la carte… «ça» ¿qué? ¡sí! ©®™ ±≤≥ √2 ∞ €5',
    'Paris—à bientôt; “É”; –é; ÀÉ',
    '✅ already fine 🚀',
  ]) {
    const result = repairMojibake(legit);
    assert.equal(result.text, legit);
    assert.deepEqual(result.fixes, []);
  }
});

test('every corpus runbook comes back unchanged', async () => {
  const files = (await readdir(corpusDir, { recursive: true })).filter((f) => f.endsWith('.md'));
  assert.ok(files.length > 300, `found ${files.length} runbooks`);
  for (const file of files) {
    const source = await readFile(join(corpusDir, file), 'utf8');
    const result = repairMojibake(source);
    assert.deepEqual(result.fixes, [], file);
    assert.equal(result.text, source, file);
  }
});

test('round trip: Mac Roman mojibake of UTF-8 text is undone', () => {
  for (const original of [
    'Deploy ✅ then 🚀, watch ⚠️ and ⏳',
    'café “quoted” — naïve résumé ©',
    'Привет, мир',
    '👩‍💻 on call; 🇬🇧 flag',
  ]) {
    const broken = asMacRoman(original);
    assert.notEqual(broken, original);
    assert.equal(repairMojibake(broken).text, original, broken);
  }
});

test('legit characters around a mis-decoded run are kept', () => {
  const { text, fixes } = repairMojibake('ok\n–‚úÖ’ and “√©tude”');
  assert.equal(text, 'ok\n–✅’ and “étude”');
  assert.deepEqual(fixes, [
    { line: 2, found: '‚úÖ', repaired: '✅' },
    { line: 2, found: '√©', repaired: 'é' },
  ]);
});

test('an ambiguous run is left alone', () => {
  // "√√©" would become "√é", which itself decodes to "Î": no repair is safe.
  assert.deepEqual(repairMojibake('x √√© y'), { text: 'x √√© y', fixes: [] });
});

test('repairing twice changes nothing more', async () => {
  const seed = await readFile(seedUrl, 'utf8');
  for (const input of [seed, 'caf√© ‚úÖ', '“√©tude” ¬†x', '–‚Äì', 'ÀÉ √√©']) {
    const once = repairMojibake(input);
    const twice = repairMojibake(once.text);
    assert.equal(twice.text, once.text, input);
    assert.deepEqual(twice.fixes, [], input);
  }
});

test('a 2 MB ASCII-heavy text is scanned quickly', () => {
  const big = 'Check the alert, then roll back if needed.\n'.repeat(50_000);
  const start = performance.now();
  const result = repairMojibake(big);
  assert.equal(result.text, big);
  assert.ok(performance.now() - start < 500);
});
