import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checklistPages, historyBlocks, homeView, instanceListBlocks } from '../src/checklist/blocks.ts';
import type { Instance, ItemState } from '../src/checklist/domain.ts';
import { parseRunbook } from '../src/runbooks/parse.ts';
import { validateSlack } from './support/validator.ts';

const now = new Date('2026-11-25T12:00:00Z');

function runbook(id: string, sections: number, per: number, text = 'Check the thing') {
  const lines = [`# ${id}`];
  for (let s = 0; s < sections; s++) {
    lines.push('', `## Section ${s}`);
    for (let i = 0; i < per; i++) lines.push(`- [ ] ${text} ${s}.${i}`);
  }
  return parseRunbook(id, `${id}.md`, lines.join('\n'));
}

function instance(id: string): Instance {
  return { id, runbookId: id, name: `Launch ${id}`, createdBy: 'UALICE', createdAt: now };
}

test('App Home stays within 100 blocks however many items are assigned to me, and says what it left out', () => {
  const instances = Array.from({ length: 40 }, (_, n) => {
    const r = runbook(`launch-${n}`, 2, 12);
    const state = new Map<string, ItemState>(r.tasks.map((t) => [t.key, { key: t.key, checked: false, owner: 'UME' }]));
    return { instance: instance(r.id), runbook: r, state };
  });
  const view = homeView({ user: 'UME', instances, now });
  assert.deepEqual(validateSlack('view', view, 'views.publish'), []);
  const text = JSON.stringify(view.blocks);
  assert.match(text, /more assigned items in/);
  assert.match(text, /launch-0/);
});

test('the checklist list, long histories and items longer than an option stay within limits without losing text', () => {
  const many = Array.from({ length: 600 }, (_, n) => ({ instance: instance(`release-${n}-with-a-rather-long-name`), done: n % 7, total: 12, overdue: n % 3 }));
  assert.deepEqual(validateSlack('blocks', instanceListBlocks(many), 'test'), []);

  const r = runbook('long', 1, 3, `${'A very long checklist item that explains exactly what to verify before launch '.repeat(3)} & <b>@channel</b>`);
  const state = new Map<string, ItemState>(r.tasks.map((t, i) => [t.key, { key: t.key, checked: i === 0, checkedBy: 'UBOB', checkedAt: now }]));
  const pages = checklistPages({ instance: instance('long'), runbook: r, state, now });
  for (const page of pages) assert.deepEqual(validateSlack('blocks', page, 'test'), []);
  const text = JSON.stringify(pages);
  // Clipped in the checkbox, whole in the small print under it; escaped, and nobody is pinged.
  // (the <b> tags are HTML, dropped by the parser; the rest is kept).
  assert.ok(text.includes('before launch  &amp; @\u200bchannel 0.0'), 'full text of a clipped item');
  assert.ok(!text.includes('<b>') && !text.includes('@channel'));

  const entries = Array.from({ length: 3000 }, (_, n) => ({ itemKey: r.tasks[n % 3]!.key, action: n % 2 ? 'tick' : 'untick', actor: 'UBOB', source: 'slack', at: now }));
  const history = historyBlocks(instance('long'), entries, new Map(r.tasks.map((t) => [t.key, t])));
  assert.deepEqual(validateSlack('blocks', history, 'test'), []);
  assert.match(JSON.stringify(history.at(-1)), /preflight export long --format csv/);
});
