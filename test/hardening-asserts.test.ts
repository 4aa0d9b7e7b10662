import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// An assertion without a message makes Node re-read and parse the test file to build one, on every failure:
// inside eventually(), which retries every 25 ms, that is a spin at 100% CPU (issue 6 point 5). Every assertion
// that can run inside eventually(), directly or through a function of the same file, carries a message.

const TEST_DIR = fileURLToPath(new URL('.', import.meta.url));
/** How many arguments each assert function takes when it carries a message. */
const WITH_MESSAGE: Record<string, number> = {
  ok: 2, equal: 3, notEqual: 3, deepEqual: 3, notDeepEqual: 3, strictEqual: 3, notStrictEqual: 3, deepStrictEqual: 3,
  notDeepStrictEqual: 3, match: 3, doesNotMatch: 3, fail: 1, throws: 3, doesNotThrow: 3, rejects: 3, doesNotReject: 3, ifError: 1,
};

/** `file:line: assert.x(…)` for each assertion without a message that eventually() may run, in one file. */
export function messageless(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  // Local functions by name, so a helper called inside eventually() is checked too.
  const functions = new Map<string, ts.Node>();
  const collect = (node: ts.Node) => {
    if (ts.isFunctionDeclaration(node) && node.name && node.body) functions.set(node.name.text, node.body);
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))) functions.set(node.name.text, node.initializer.body);
    ts.forEachChild(node, collect);
  };
  collect(source);

  const found = new Set<string>();
  const seen = new Set<ts.Node>();
  const check = (node: ts.Node) => {
    if (seen.has(node)) return;
    seen.add(node);
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const name = ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === 'assert' ? callee.name.text : ts.isIdentifier(callee) && callee.text === 'assert' ? 'ok' : undefined;
      const wanted = name && WITH_MESSAGE[name];
      if (wanted && node.arguments.length < wanted) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart());
        found.add(`${file}:${line + 1}: ${node.getText().split('\n')[0]!.slice(0, 100)}`);
      }
      if (ts.isIdentifier(callee) && functions.has(callee.text)) check(functions.get(callee.text)!);
    }
    ts.forEachChild(node, check);
  };
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'eventually' && node.arguments[0]) check(node.arguments[0]);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return [...found];
}

test('the checker finds a message-less assertion inside eventually(), directly and through a local helper', () => {
  const code = [
    'const seen = () => { assert.ok(x); assert.equal(a, b, "fine"); };',
    'await eventually(() => { assert.equal(a, 1); assert.match(s, /x/, "ok"); seen(); });',
    'assert.ok(outside);',
  ].join('\n');
  assert.deepEqual(messageless('t.ts', code), ['t.ts:2: assert.equal(a, 1)', 't.ts:1: assert.ok(x)']);
});

test('every assertion that eventually() can run, in every test file, carries a message', () => {
  const files = readdirSync(TEST_DIR).filter((f) => f.endsWith('.test.ts'));
  assert.ok(files.length > 10, 'the test files were found');
  const missing = files.flatMap((f) => messageless(f, readFileSync(join(TEST_DIR, f), 'utf8')));
  assert.deepEqual(missing, [], `give these a message:\n${missing.join('\n')}`);
});
