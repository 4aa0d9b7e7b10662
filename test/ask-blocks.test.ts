import assert from 'node:assert/strict';
import { test } from 'node:test';
import { askAnswerBlocks, askFallbackBlocks } from '../src/ask/blocks.ts';
import { checkAnswer, type SourceSection } from '../src/ask/domain.ts';
import { parseRunbook } from '../src/runbooks/parse.ts';
import { allSections } from '../src/runbooks/model.ts';
import { MESSAGE_BLOCKS } from '../src/slack/limits.ts';
import { validateSlack } from './support/validator.ts';

// Ask's messages stay within Slack's limits and say what they leave out, whatever the runbook or model sends.

const long = ['# Huge', '', ...Array.from({ length: 3 }, (_, i) => [`## Part ${i} @channel`, '', ...Array.from({ length: 60 }, (_, j) => `Paragraph ${j} <!here> of part ${i}, ${'words '.repeat(40)}`), '```bash', ...Array.from({ length: 200 }, (_, k) => `echo line ${k}`), '```', ''].join('\n'))].join('\n');

test('three over-long sections and a runaway model answer stay within 50 blocks and Slack\'s schemas, and say what is cut', () => {
  const runbook = parseRunbook('huge', 'huge.md', long);
  const sections = allSections(runbook);
  const sources: SourceSection[] = sections.map((s, i) => ({ label: `S${i + 1}`, runbookId: runbook.id, runbookTitle: runbook.title, sectionKey: s.key, path: s.path.join(' › '), text: 'x', code: [] }));
  const fallback = askFallbackBlocks('q @channel', 'no-model', sections.map((s, i) => ({ runbook, source: sources[i]! })));
  assert.ok(fallback.length <= MESSAGE_BLOCKS, `${fallback.length} blocks`);
  assert.deepEqual(validateSlack('blocks', fallback, 'chat.postMessage'), []);
  assert.equal(JSON.stringify(fallback).match(/the rest of this section/g)?.length, 3, 'each cut section says so');
  assert.doesNotMatch(JSON.stringify(fallback), /<!here>|[^\u200b]@channel/);

  const checked = checkAnswer({ answer: 'All of it. '.repeat(3000), citations: sources.map((s) => s.label), commands: [] }, sources);
  const answer = askAnswerBlocks('q', checked, 'm');
  assert.ok(answer.length <= MESSAGE_BLOCKS, `${answer.length} blocks`);
  assert.deepEqual(validateSlack('blocks', answer, 'chat.postMessage'), []);
  assert.match(JSON.stringify(answer), /goes on for \d+ more parts, not shown/);
});
