import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { planPages, runMessage } from '../src/rollback/blocks.ts';
import { allSteps, cleanValues, commandGroups, fillCommand, mayAbort, parseRunRef, phaseDeadlines, phaseTimings, plansOf, reminders, type Run, type StepState } from '../src/rollback/domain.ts';
import { timelineMarkdown } from '../src/rollback/export.ts';
import { parseRunbook } from '../src/runbooks/parse.ts';
import { MESSAGE_BLOCKS } from '../src/slack/limits.ts';
import { SEED } from './support/harness.ts';
import { validateSlack } from './support/validator.ts';

// The plan model and the run rules, pure: no database, no Slack.

const seed = parseRunbook('production-readiness', 'production-readiness.md', readFileSync(SEED, 'utf8'));

test('the seed\'s "🆘 Rollback Plan" is 3 phases and 7 steps, exactly', () => {
  const plans = plansOf(seed);
  assert.equal(plans.length, 1, 'one plan in the seed');
  const plan = plans[0]!;
  assert.equal(plan.sectionKey, 'rollback-plan');
  assert.equal(plan.title, '🆘 Rollback Plan');
  assert.deepEqual(plan.placeholders, ['previous-commit']);
  assert.deepEqual(
    plan.phases.map((p) => ({ key: p.key, title: p.title, budget: p.budget && { minutes: p.budget.minutes, kind: p.budget.kind } })),
    [
      { key: 'immediate-actions', title: 'Immediate Actions', budget: { minutes: 5, kind: 'limit' } },
      { key: 'database-rollback', title: 'Database Rollback', budget: { minutes: 15, kind: 'limit' } },
      { key: 'communication', title: 'Communication', budget: undefined },
    ],
  );
  assert.deepEqual(allSteps(plan), [
    { key: 'immediate-actions/stop-the-application', name: 'Stop the application', conditional: false, commands: ['docker-compose down api'], placeholders: [] },
    {
      key: 'immediate-actions/roll-back-to-previous-version',
      name: 'Roll back to previous version',
      conditional: false,
      commands: ['git checkout <previous-commit>', 'docker-compose up -d --build api'],
      placeholders: ['previous-commit'],
    },
    { key: 'database-rollback/only-if-schema-changes-were-made', name: 'Only if schema changes were made', conditional: true, commands: ['make migrate-down  # Rollback one migration'], placeholders: [] },
    { key: 'database-rollback/if-needed-restore-from-backup', name: 'If needed, restore from backup', conditional: true, commands: ['pg_restore -h localhost -U postgres -d hamsaya /backups/latest.sql'], placeholders: [] },
    { key: 'communication/update-status-page', name: 'Update status page', conditional: false, commands: [], placeholders: [] },
    { key: 'communication/send-notification-to-users-if-applicable', name: 'Send notification to users (if applicable)', conditional: false, commands: [], placeholders: [] },
    { key: 'communication/post-mortem-within-24-hours', name: 'Post-mortem within 24 hours', conditional: false, commands: [], placeholders: [], dueMinutes: 1440 },
  ]);
});

test('kind: rollback makes a whole runbook a plan; subsections are phases with "Time Required" budgets', () => {
  const rb = parseRunbook(
    'payments/rollback',
    'x.md',
    [
      '---',
      'kind: rollback',
      'owner: team-payments',
      '---',
      '# Payments rollback',
      '## Freeze',
      '**Time Required**: 10 minutes',
      '```sh',
      '# Pause the queue',
      'kubectl scale deploy/worker --replicas=0',
      '',
      'kubectl rollout undo deploy/api --to-revision=<revision>',
      '```',
      '## Verify (< 1 hour)',
      '- Check error rates',
      '- Check error rates',
    ].join('\n'),
  );
  const [plan] = plansOf(rb);
  assert.ok(plan, 'a plan');
  assert.equal(plan.owner, 'team-payments');
  assert.deepEqual(plan.phases.map((p) => [p.title, p.budget?.minutes, p.budget?.kind]), [['Freeze', 10, 'estimate'], ['Verify', 60, 'limit']]);
  assert.deepEqual(plan.phases[0]!.steps.map((s) => [s.name, s.commands]), [['Pause the queue', ['kubectl scale deploy/worker --replicas=0']], ['kubectl rollout undo deploy/api --to-revision=<revision>', ['kubectl rollout undo deploy/api --to-revision=<revision>']]]);
  assert.deepEqual(plan.phases[1]!.steps.map((s) => s.key), ['verify/check-error-rates', 'verify/check-error-rates-2'], 'duplicate names get distinct keys');
  assert.deepEqual(plan.placeholders, ['revision']);
  assert.deepEqual(plansOf(parseRunbook('x', 'x.md', '# X\n## Rollout\n1. a\n')), [], 'a section not named Rollback… is no plan');
});

test('command groups, placeholders, run references and abort permissions', () => {
  assert.deepEqual(commandGroups('# One\n# more\na\n\n\nb\n# trailing note'), [
    { name: 'One — more', conditional: false, commands: ['a'], placeholders: [] },
    { name: 'trailing note', conditional: false, commands: ['b'], placeholders: [] },
  ]);
  assert.equal(fillCommand('git checkout <previous-commit> && echo <other>', { 'previous-commit': 'abc123' }), 'git checkout abc123 && echo <other>');
  assert.deepEqual(['12', '#12', 'run-12', 'x', undefined].map(parseRunRef), [12, 12, 12, undefined, undefined]);
  const plan = plansOf(seed)[0]!;
  assert.deepEqual(cleanValues(plan, { 'previous-commit': ' ab```c\n<!channel> ', other: 'ignored' }), { 'previous-commit': "ab'''c <!channel>" }, 'one line, cannot close the code block; unknown names dropped');
  assert.deepEqual(cleanValues(plan, { 'previous-commit': '   ' }), {}, 'empty values dropped');
  const run = { startedBy: 'UALICE' };
  assert.equal(mayAbort(run, 'UALICE', [], []), true, 'starter');
  assert.equal(mayAbort(run, 'UBOB', ['UBOB'], []), true, 'on call');
  assert.equal(mayAbort(run, 'UCAROL', [], ['UCAROL']), true, 'admin');
  assert.equal(mayAbort(run, 'UMALLORY', ['UBOB'], ['UCAROL']), false, 'anyone else');
});

test('budgets add up from the start; phase timings and the timeline follow the clock', () => {
  const plan = plansOf(seed)[0]!;
  const t0 = new Date('2026-12-01T10:00:00Z');
  assert.deepEqual([...phaseDeadlines(plan, t0)].map(([k, d]) => [k, d.toISOString()]), [['immediate-actions', '2026-12-01T10:05:00.000Z'], ['database-rollback', '2026-12-01T10:20:00.000Z']]);
  assert.deepEqual(reminders(plan, t0).map((r) => [r.stepKey, r.at.toISOString()]), [['communication/post-mortem-within-24-hours', '2026-12-02T10:00:00.000Z']]);
  const at = (min: number) => new Date(t0.getTime() + min * 60_000);
  const steps = new Map<string, StepState>(allSteps(plan).map((s) => [s.key, { key: s.key, status: 'pending' }]));
  steps.set('immediate-actions/stop-the-application', { key: 'immediate-actions/stop-the-application', status: 'done', actor: 'UALICE', at: at(2) });
  steps.set('immediate-actions/roll-back-to-previous-version', { key: 'immediate-actions/roll-back-to-previous-version', status: 'done', actor: 'UBOB', at: at(7) });
  const t = phaseTimings({ plan, startedAt: t0 }, steps, at(9));
  assert.deepEqual(t.map((x) => [x.phase.key, x.elapsedMs / 60_000, x.over, x.done]), [['immediate-actions', 7, true, 2], ['database-rollback', 2, false, 0], ['communication', 2, false, 0]]);
  const run: Run = { id: 3, runbookId: 'production-readiness', plan, channel: 'C1', ts: '1.1', startedBy: 'UALICE', startedAt: t0, reason: 'bad deploy', drill: true, values: { 'previous-commit': 'abc123' }, state: 'open' };
  const md = timelineMarkdown(run, steps, [], at(9));
  assert.match(md, /^# Rollback #3 \[DRILL\]: 🆘 Rollback Plan/);
  assert.match(md, /\| 1 \| Immediate Actions \| < 5 min \| 7m 00s \| over budget \|/);
  const { blocks } = runMessage(run, steps, at(9));
  assert.deepEqual(validateSlack('blocks', blocks, 'chat.postMessage'), [], 'the run message validates');
  assert.ok(JSON.stringify(blocks).includes('git checkout abc123'), 'placeholder filled in the run');
});

test('a plan too big for one message is paged, and a huge run keeps within 50 blocks and says what waits', () => {
  const phases = Array.from({ length: 6 }, (_, p) => `${p + 1}. **Phase ${p + 1}** (< 5 minutes)\n   \`\`\`bash\n${Array.from({ length: 12 }, (_, s) => `   # Step ${p + 1}.${s + 1}\n   echo ${'x'.repeat(200)} ${s}\n`).join('\n')}   \`\`\``).join('\n\n');
  const rb = parseRunbook('big', 'big.md', `# Big\n## Rollback\n${phases}\n`);
  const [plan] = plansOf(rb);
  assert.equal(allSteps(plan!).length, 72, 'every step parsed');
  const pages = planPages(plan!, 'Owner: x');
  assert.ok(pages.length > 1, 'paged');
  for (const page of pages) assert.deepEqual(validateSlack('blocks', page, 'chat.postMessage'), [], 'each page validates');
  const shown = pages.flat().map((b) => JSON.stringify(b)).join('');
  for (const s of allSteps(plan!)) assert.ok(shown.includes(s.name), `step shown: ${s.name}`);
  const run: Run = { id: 1, runbookId: 'big', plan: plan!, channel: 'C1', startedBy: 'U1', startedAt: new Date(0), drill: false, values: {}, state: 'open' };
  const { blocks } = runMessage(run, new Map(), new Date(1000));
  assert.ok(blocks.length <= MESSAGE_BLOCKS, `${blocks.length} blocks`);
  assert.deepEqual(validateSlack('blocks', blocks, 'chat.postMessage'), [], 'the run message validates');
  assert.match(JSON.stringify(blocks), /more pending step\(s\) are shown, with their buttons,/, 'says what waits');
});
