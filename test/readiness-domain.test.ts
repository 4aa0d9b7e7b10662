import assert from 'node:assert/strict';
import { test } from 'node:test';
import cron from 'node-cron';
import type { Instance, ItemState } from '../src/checklist/domain.ts';
import { CronFires } from '../src/readiness/digest.ts';
import { bar, byUrgency, readiness, recentTicks, sparkline } from '../src/readiness/domain.ts';
import { numbersIn, onlyKnownNumbers, templateSummary } from '../src/readiness/summary.ts';
import { parseRunbook } from '../src/runbooks/parse.ts';

// The pure rules of readiness: weights, blockers, ordering, cron fires, the summary's number check.

const now = new Date('2026-12-01T09:00:00Z');
const inst = (id: string, launchDate?: string): Instance => ({ id, runbookId: 'w', name: id, launchDate, createdBy: 'U', createdAt: now });

const WEIGHTED = parseRunbook(
  'w',
  'w.md',
  `---
weights:
  security-high-priority: 3
---
# Weighted

## Security (HIGH PRIORITY)
- [x] Secrets rotated
- [ ] Firewall applied

## Docs
- [x] Readme
- [x] Guide
- [ ] Runbook (CRITICAL PRIORITY)
- [ ] Changelog
`,
);

test('weights count each item of a section that many times; plain ratios without them', () => {
  const r = readiness(inst('w'), WEIGHTED, new Map(), { now, zone: 'UTC' });
  assert.deepEqual({ done: r.overall.done, total: r.overall.total }, { done: 3, total: 6 });
  // (3·1 + 1·2) / (3·2 + 1·4) = 5/10
  assert.equal(r.overall.pct, 50);
  assert.equal(r.overall.weighted, true);
  assert.deepEqual(r.sections.map((s) => [s.title, s.pct, s.weight]), [['Security (HIGH PRIORITY)', 50, 3], ['Docs', 50, 1]]);
  const plain = parseRunbook('p', 'p.md', WEIGHTED.source.replace(/^---[\s\S]*?---\n/, ''));
  assert.equal(readiness(inst('p'), plain, new Map(), { now, zone: 'UTC' }).overall.pct, 50, '3/6 without weights too');
});

test('blockers: overdue first, then critical, then high priority items; sections at 0%', () => {
  const state = new Map<string, ItemState>();
  const changelog = WEIGHTED.tasks.find((t) => t.plain === 'Changelog')!.key;
  state.set(changelog, { key: changelog, checked: false, dueAt: new Date('2026-11-30T00:00:00Z'), owner: 'UBOB' });
  const r = readiness(inst('w'), WEIGHTED, state, { now, zone: 'UTC' });
  assert.deepEqual(
    r.blockers.map((b) => (b.kind === 'item' ? [b.item.text, b.item.overdue, b.item.priority ?? null, b.item.owner ?? null] : ['section', b.section.title])),
    [
      ['Changelog', true, null, 'UBOB'],
      ['Runbook (CRITICAL PRIORITY)', false, 'critical', null],
      ['Firewall applied', false, 'high', null],
    ],
  );
});

test('most urgent first: nearest launch, then no launch by lowest score; days left count calendar days in the zone', () => {
  const rs = [inst('later', '2026-12-20'), inst('none'), inst('soon', '2026-12-03'), inst('past', '2026-11-29')].map((i) => readiness(i, WEIGHTED, new Map(), { now, zone: 'UTC' }));
  assert.deepEqual(rs.sort(byUrgency).map((r) => [r.instance.id, r.daysLeft ?? null]), [['past', -2], ['soon', 2], ['later', 19], ['none', null]]);
  const late = readiness(inst('tz', '2026-12-02'), WEIGHTED, new Map(), { now: new Date('2026-12-01T23:30:00Z'), zone: 'Europe/Paris' });
  assert.equal(late.daysLeft, 0, '00:30 in Paris is already the 2nd');
});

test('bars and sparklines', () => {
  assert.equal(bar(52), '▓▓▓▓▓░░░░░');
  assert.equal(bar(0), '░░░░░░░░░░');
  assert.equal(bar(100), '▓▓▓▓▓▓▓▓▓▓');
  assert.equal(sparkline([undefined, 0, 36, 50, 99, 100]), '·▁▃▅██');
});

test('recent ticks: by whom, leaving out items unticked since and ticks from the file', () => {
  const [a, b] = WEIGHTED.tasks.filter((t) => !t.checked);
  const state = new Map<string, ItemState>([[a!.key, { key: a!.key, checked: true }], [b!.key, { key: b!.key, checked: false }]]);
  const entries = [
    { itemKey: b!.key, action: 'untick', actor: 'UBOB', at: new Date('2026-12-01T08:00:00Z') },
    { itemKey: b!.key, action: 'tick', actor: 'UALICE', at: new Date('2026-12-01T07:00:00Z') },
    { itemKey: a!.key, action: 'tick', actor: 'UALICE', at: new Date('2026-12-01T06:00:00Z') },
    { itemKey: a!.key, action: 'tick', actor: 'runbook', at: new Date('2026-12-01T05:00:00Z') },
    { itemKey: a!.key, action: 'tick', actor: 'UOLD', at: new Date('2026-11-29T05:00:00Z') },
  ];
  assert.deepEqual(recentTicks(inst('w'), WEIGHTED, entries, state, new Date('2026-11-30T09:00:00Z')), [{ instanceId: 'w', name: 'w', actor: 'UALICE', items: ['Firewall applied'] }]);
});

test('the latest cron fire at or before now, on the same local day only', () => {
  const fires = (expr: string, zone: string) => {
    const task = cron.createTask(expr, () => undefined, { timezone: zone });
    return new CronFires(task, expr, zone);
  };
  const weekdays = fires('0 9 * * 1-5', 'Europe/Paris');
  assert.equal(weekdays.latest(new Date('2026-12-01T07:59:59Z')), undefined, 'before 09:00 Paris');
  assert.equal(weekdays.latest(new Date('2026-12-01T08:30:00Z'))?.toISOString(), '2026-12-01T08:00:00.000Z', '09:00 Paris');
  assert.equal(weekdays.latest(new Date('2026-12-01T20:00:00Z'))?.toISOString(), '2026-12-01T08:00:00.000Z', 'resumes from the last answer');
  assert.equal(weekdays.latest(new Date('2026-12-05T10:00:00Z')), undefined, 'no fire on a Saturday');
  const seconds = fires('*/5 * * * * *', 'UTC');
  assert.equal(seconds.latest(new Date('2026-12-01T12:00:07.300Z'))?.toISOString(), '2026-12-01T12:00:05.000Z');
  assert.equal(seconds.latest(new Date('2026-12-01T12:00:11.000Z'))?.toISOString(), '2026-12-01T12:00:10.000Z');
  const night = fires('30 23 * * *', 'UTC');
  assert.equal(night.latest(new Date('2026-12-02T00:10:00Z')), undefined, "yesterday's fire is not today's");
});

test('a summary may only use numbers from the data', () => {
  assert.deepEqual(numbersIn('36% of 1,200 items, +3, 2.5 days'), ['36', '1200', '3', '2.5']);
  const data = [{ overallPercent: 36, itemsTicked: 20, itemsTotal: 56, checklist: 'Payments v2' }];
  assert.equal(onlyKnownNumbers('Payments v2 is 36% ready: 20 of 56 items.', data), true);
  assert.equal(onlyKnownNumbers('Payments v2 is 37% ready.', data), false);
  const r = readiness(inst('w', '2026-12-06'), WEIGHTED, new Map(), { now, zone: 'UTC' });
  assert.equal(templateSummary([r]), 'w is 50% ready: 3 of 6 items ticked, launching in 5 days. 2 blockers remain and no gates are defined.');
});
