import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as L from '../src/slack/limits.ts';
import { validateSlack } from './support/validator.ts';

// The fake Slack refuses what the real one would; these show each refusal is real, so a green run means something.

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const option = (text: string, value: string) => ({ text: { type: 'plain_text', text }, value });
const checkboxes = (n: number) => ({
  type: 'actions',
  elements: [{ type: 'checkboxes', action_id: 'c', options: Array.from({ length: n }, (_, i) => option(`item ${i}`, `v${i}`)) }],
});

function refused(value: unknown, pattern: RegExp, kind: 'blocks' | 'view' = 'blocks'): void {
  const problems = validateSlack(kind, value, 'chat.postMessage');
  assert.ok(problems.length > 0, 'refused');
  assert.ok(problems.some((p) => pattern.test(p)), `a problem matches ${pattern}: ${problems.join('; ')}`);
}

test('a small valid message is accepted', () => {
  const blocks = [
    { type: 'header', text: { type: 'plain_text', text: 'Production Readiness Checklist', emoji: true } },
    section('*Rollback* ```docker-compose down api```'),
    { type: 'context', elements: [{ type: 'mrkdwn', text: 'page 1 of 2' }] },
    { type: 'divider' },
    { type: 'actions', block_id: 'nav', elements: [{ type: 'button', action_id: 'runbook:page:next', text: { type: 'plain_text', text: 'Next' }, value: '{"p":1}' }] },
    checkboxes(L.CHECKBOX_OPTIONS),
  ];
  assert.deepEqual(validateSlack('blocks', blocks, 'chat.postMessage'), []);
});

test('a section of 3000 characters is accepted and one of 3001 refused', () => {
  assert.deepEqual(validateSlack('blocks', [section('x'.repeat(L.SECTION_TEXT))], 'chat.postMessage'), []);
  refused([section('x'.repeat(L.SECTION_TEXT + 1))], /3001 > 3000/);
});

test('a header of 151 characters is refused', () => {
  const header = (n: number) => [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(n) } }];
  assert.deepEqual(validateSlack('blocks', header(L.HEADER_TEXT), 'chat.postMessage'), []);
  refused(header(L.HEADER_TEXT + 1), /header longer than 150/);
});

test('a header with mrkdwn text is refused by the schema', () => {
  refused([{ type: 'header', text: { type: 'mrkdwn', text: '*bold*' } }], /^schema:/);
});

test('51 blocks are refused in a message', () => {
  assert.deepEqual(validateSlack('blocks', Array.from({ length: L.MESSAGE_BLOCKS }, () => ({ type: 'divider' })), 'chat.postMessage'), []);
  refused(Array.from({ length: L.MESSAGE_BLOCKS + 1 }, () => ({ type: 'divider' })), /51 blocks > 50/);
});

test('checkboxes with 11 options are refused', () => {
  refused([checkboxes(L.CHECKBOX_OPTIONS + 1)], /11 checkbox options > 10/);
});

test('an option text of 76 characters is refused', () => {
  const select = (text: string) => [
    { type: 'actions', elements: [{ type: 'static_select', action_id: 's', placeholder: { type: 'plain_text', text: 'Pick' }, options: [option(text, 'v')] }] },
  ];
  assert.deepEqual(validateSlack('blocks', select('o'.repeat(L.OPTION_TEXT)), 'chat.postMessage'), []);
  refused(select('o'.repeat(L.OPTION_TEXT + 1)), /option text longer than 75/);
});

test('a duplicate block_id is refused', () => {
  refused([{ ...section('a'), block_id: 'same' }, { ...section('b'), block_id: 'same' }], /duplicate block_id same/);
});

test('a view with 100 blocks is accepted and one with 101 refused', () => {
  const view = (n: number) => ({ type: 'home', blocks: Array.from({ length: n }, (_, i) => section(`line ${i}`)) });
  assert.deepEqual(validateSlack('view', view(L.VIEW_BLOCKS), 'views.publish'), []);
  refused(view(L.VIEW_BLOCKS + 1), /101 blocks > 100/, 'view');
});
