import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FakeMessage } from '../src/console/fakeSlack.ts';
import { renderBlocks } from '../src/console/render.ts';
import { CONTINUED, RUNBOOK_ACTIONS } from '../src/runbooks/blocks.ts';
import type { Block } from '../src/runbooks/model.ts';
import { allSections } from '../src/runbooks/model.ts';
import { alice, codeLines, corpusDir, eventually, startApp, type TestApp } from './support/harness.ts';
import { validateSlack } from './support/validator.ts';

// Issue 11 points 2 and 3: code is copied exactly out of what Slack and the console show, and long code is
// split where a reader would split it.

let app: TestApp;

before(async () => {
  app = await startApp({ runbooks: corpusDir() });
});

after(async () => {
  await app?.stop();
});

type Blocks = Array<Record<string, any>>;

async function command(text: string): Promise<Blocks> {
  const res = await app.sim.command('/runbook', text, alice, 'CCODE');
  assert.equal(res.status, 200, `/runbook ${text}: HTTP ${res.status}`);
  const blocks = (res.body as { blocks?: Blocks }).blocks;
  assert.ok(Array.isArray(blocks), `/runbook ${text}: answered with blocks`);
  return blocks;
}

/** Every page of a runbook as Slack shows it: the command's answer, then Next ▶ pressed until there is none. */
async function pages(id: string): Promise<Blocks[]> {
  const out = [await command(id)];
  for (;;) {
    const next = out.at(-1)!.flatMap((b) => (b.type === 'actions' ? b.elements : [])).find((e: { action_id: string }) => e.action_id === RUNBOOK_ACTIONS.next);
    if (!next) return out;
    const shown: FakeMessage = { channel: 'CCODE', ts: `${out.length}.000001`, blocks: out.at(-1), ephemeral: true, user: alice.id };
    await app.sim.press(alice, next, { message: shown });
    out.push(await eventually(() => {
      assert.notEqual(shown.blocks, out.at(-1), `page ${out.length + 1} of ${id} is drawn`);
      return shown.blocks as Blocks;
    }));
  }
}

/** The code lines a runbook's author wrote, in every section, list and quote. */
function sectionTexts(blocks: Blocks): string[] {
  return blocks.filter((b) => b.type === 'section').map((b) => String(b.text?.text ?? ''));
}

test('every code line of the seed and the corpus can be copied whole out of the console drawing', async () => {
  const runbooks = app.preflight.deps.library.all();
  assert.ok(runbooks.length > 300, 'seed and corpus are loaded');
  const missing: string[] = [];
  for (const runbook of runbooks) {
    const drawn = (await pages(runbook.id)).map((p) => renderBlocks(p, 1, false).text).join('\n');
    // Code inside a quote is drawn after the quote's marker.
    const lines = new Set(drawn.split('\n').flatMap((l) => [l.trimEnd(), l.replace(/^> /, '').trimEnd()]));
    const wanted = [runbook.root, ...allSections(runbook)].flatMap((s) => codeLines(s.blocks));
    for (const line of wanted) if (line.trim() && !lines.has(line.trimEnd())) missing.push(`${runbook.id}: ${JSON.stringify(line)}`);
  }
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} code lines not shown as written`);
  assert.deepEqual(app.slack.rejections, [], 'Slack accepted every page');
});

test('the seed crontab is shown as written in Slack, in the console and in search snippets', async () => {
  const crontab = '0 2 * * * /usr/local/bin/pg_dump -h localhost -U postgres hamsaya > /backups/db_$(date +\\%Y\\%m\\%d).sql';
  const shown = (await pages('production-readiness')).map((p) => renderBlocks(p, 1, true).text).join('\n');
  assert.ok(shown.split('\n').includes(crontab), 'the console, with colours, draws the crontab line unformatted');

  const hits = await command('search postgres hamsaya backups');
  assert.deepEqual(validateSlack('blocks', hits, 'ack'), [], 'Slack accepts the results');
  const snippets = sectionTexts(hits).join('\n');
  assert.ok(snippets.includes('* * *'), `the snippet keeps the stars:\n${snippets}`);
  assert.ok(!snippets.includes('∗'), 'no look-alike stars');
  // Stars sit in a code span, where Slack applies no formatting; the highlight stays bold outside it.
  assert.ok(snippets.includes('0 2 `* * *` /usr/local/bin/pg_dump'), `the stars are inside a code span:\n${snippets}`);
  const drawn = renderBlocks(hits, 1, false).text;
  assert.ok(drawn.includes('0 2 * * *'), `the console shows the snippet's stars:\n${drawn}`);
});

test('long code is cut at blank lines or between command groups, never after a comment; later parts say they continue', async () => {
  const seed = (await pages('production-readiness')).flatMap(sectionTexts).join('\n@@\n');
  const at = seed.indexOf('# 2. MinIO/S3 backups');
  assert.ok(at > 0, 'the backup block is shown');
  assert.ok(seed.slice(at).split('\n')[1]?.startsWith('0 3 * * * mc mirror'), `the comment stays with its command:\n${seed.slice(at - 200, at + 200)}`);

  const problems: string[] = [];
  for (const runbook of app.preflight.deps.library.all()) {
    const starts = new Set([runbook.root, ...allSections(runbook)].flatMap((s) => codeBlocks(s.blocks)).map((c) => c.split('\n')[0]!.trim()));
    const texts = (await pages(runbook.id)).flatMap(sectionTexts);
    texts.forEach((text, i) => {
      // A section that opens with a fence either starts a code block of the runbook or says it continues one.
      const table = (text.split('\n')[1] ?? '').includes('│');
      if (text.startsWith('```') && !table && !starts.has(escapeBack(text.split('\n')[1] ?? '').trim())) problems.push(`${runbook.id}: part ${i} starts mid-code without saying so: ${JSON.stringify(text.slice(0, 80))}`);
      if (texts[i + 1]?.startsWith(CONTINUED)) {
        const lines = text.split('\n');
        const last = lines[lines.length - 2] ?? '';
        if (/^\s*#/.test(last)) problems.push(`${runbook.id}: part ${i} ends on a comment: ${JSON.stringify(last)}`);
      }
    });
  }
  assert.deepEqual(problems.slice(0, 10), [], `${problems.length} bad cuts`);

  const targetDown = await pages('corpus/openshift/alerts/cluster-monitoring-operator/TargetDown');
  assert.ok(targetDown.length > 1, 'TargetDown is paged');
  const second = sectionTexts(targetDown[1]!)[0] ?? '';
  assert.ok(!second.startsWith('```') || second.split('\n')[1] === 'apiVersion: monitoring.coreos.com/v1', `page 2 starts at a whole YAML document:\n${second.slice(0, 200)}`);
});

function codeBlocks(blocks: Block[]): string[] {
  return blocks.flatMap((b) => {
    if (b.kind === 'code') return [b.code.replace(/^\s*\n/, '')];
    if (b.kind === 'list') return b.items.flatMap((i) => codeBlocks(i.blocks));
    if (b.kind === 'quote') return codeBlocks(b.blocks);
    return [];
  });
}

function escapeBack(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
