import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { allSections, type Block, type ListItem, type Runbook, type Section } from '../src/runbooks/model.ts';
import { parseRunbook } from '../src/runbooks/parse.ts';
import { SEED } from './support/harness.ts';

const raw = readFileSync(SEED, 'utf8');
const seed = parseRunbook('production-readiness', 'production-readiness.md', raw);

function section(r: Runbook, title: string): Section {
  const s = allSections(r).find((x) => x.title === title);
  assert.ok(s, `section "${title}" among: ${allSections(r).map((x) => x.title).join(' | ')}`);
  return s;
}

function tasksIn(r: Runbook, s: Section): number {
  return r.tasks.filter((t) => t.sectionKey === s.key).length;
}

test('the seed is titled by its first heading, repaired', () => {
  assert.equal(seed.title, 'Production Readiness Checklist');
  assert.equal(seed.root.title, 'Production Readiness Checklist');
  assert.ok(seed.source.includes('## ✅ Phase 1 - COMPLETED'));
});

test('the seed has 56 task items, 20 of them ticked, with unique keys', () => {
  assert.equal(seed.tasks.length, 56);
  assert.equal(seed.tasks.filter((t) => t.checked).length, 20);
  assert.equal(new Set(seed.tasks.map((t) => t.key)).size, 56);
  for (const t of seed.tasks) assert.match(t.key, /^[a-z0-9/-]+$/, `a key fit for action ids: ${t.key}`);
});

test('the section tree nests Infrastructure, Application, Team and Testing under the Pre-Launch Checklist', () => {
  const prelaunch = section(seed, '📋 Pre-Launch Checklist');
  assert.equal(prelaunch.depth, 2);
  assert.deepEqual(prelaunch.children.map((c) => c.title), ['Infrastructure', 'Application', 'Team', 'Testing']);
  assert.deepEqual(prelaunch.children.map((c) => tasksIn(seed, c)), [7, 6, 5, 4]);
  assert.deepEqual(prelaunch.children[0]!.path, ['📋 Pre-Launch Checklist', 'Infrastructure']);
  // The top level is the level-2 headings, in order; the level-1 title is not a section.
  assert.deepEqual(seed.root.children.map((c) => c.title), [
    '✅ Phase 1 - COMPLETED (2025-10-21)',
    '🚀 Phase 2 - RECOMMENDED (Before Launch)',
    '📊 Current Production Readiness Score',
    '🔒 Security Checklist',
    '🚦 Deployment Decision',
    '📋 Pre-Launch Checklist',
    '🆘 Rollback Plan',
    '📞 Support Contacts',
    '📈 Next Steps',
    '🎉 Conclusion',
  ]);
});

test('priorities and time estimates written in the text become budgets', () => {
  const secrets = section(seed, '1. Production Secrets (HIGH PRIORITY) ⏳');
  assert.equal(secrets.priority, 'high');
  assert.deepEqual(secrets.budget, { minutes: 30, kind: 'estimate', text: '30 minutes' });
  const integration = section(seed, '2. Integration Tests (MEDIUM PRIORITY) ⏳');
  assert.equal(integration.priority, 'medium');
  assert.equal(integration.budget?.minutes, 480, '6-8 hours counts as its upper bound');
  assert.equal(integration.budget?.kind, 'estimate');
  assert.equal(section(seed, '6. Documentation Review (LOW PRIORITY) ⏳').priority, 'low');
  assert.equal(section(seed, '📋 Pre-Launch Checklist').priority, undefined);
});

test('the Rollback Plan steps carry their limits and keep their nested code whole', () => {
  const rollback = section(seed, '🆘 Rollback Plan');
  const list = rollback.blocks.find((b): b is Extract<Block, { kind: 'list' }> => b.kind === 'list');
  assert.ok(list);
  assert.equal(list.ordered, true);
  const [immediate, database, communication] = list.items as [ListItem, ListItem, ListItem];
  assert.equal(immediate.plain, 'Immediate Actions (< 5 minutes)');
  assert.deepEqual(immediate.budget, { minutes: 5, kind: 'limit', text: '< 5 minutes' });
  assert.deepEqual(database.budget, { minutes: 15, kind: 'limit', text: '< 15 minutes' });
  assert.equal(communication.budget, undefined);
  const code = immediate.blocks[0];
  assert.ok(code && code.kind === 'code');
  assert.equal(code.lang, 'bash');
  assert.deepEqual(code.code.split('\n'), [
    '# Stop the application',
    'docker-compose down api',
    '',
    '# Roll back to previous version',
    'git checkout <previous-commit>',
    'docker-compose up -d --build api',
  ]);
  const restore = database.blocks[0];
  assert.ok(restore && restore.kind === 'code');
  assert.ok(restore.code.split('\n').includes('pg_restore -h localhost -U postgres -d hamsaya /backups/latest.sql'));
  assert.equal(immediate.line, 260);
  assert.equal(code.line, 261);
});

test('task items know their line in the file', () => {
  const first = seed.tasks[0]!;
  assert.equal(first.plain, 'All changes committed to git');
  assert.equal(first.line, 11);
  const redis = seed.tasks.find((t) => t.plain === 'Redis persistence configured')!;
  assert.equal(redis.line, 226);
  assert.equal(raw.split('\n')[redis.line - 1], '- [ ] Redis persistence configured');
  for (const t of seed.tasks) assert.match(raw.split('\n')[t.line - 1] ?? '', /^\s*- \[[ x]\] /, `line ${t.line} is a task item`);
});

test('front matter gives title, owner and tags; the first heading then is not the title', () => {
  const r = parseRunbook('ops/db', 'ops/db.md', ['---', 'title: Database Failover', 'owner: '+ '"@dba-team"', 'tags: [db, failover]', 'kind: rollback', '---', '# Heading', '', '## Step', '', '- [ ] Promote the replica', ''].join('\n'));
  assert.equal(r.title, 'Database Failover');
  assert.equal(r.meta.owner, '@dba-team');
  assert.deepEqual(r.meta.tags, ['db', 'failover']);
  assert.equal(r.meta.kind, 'rollback');
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.tasks[0]!.line, 11, 'lines count from the top of the file, front matter included');
  const commaTags = parseRunbook('x', 'x.md', '---\ntags: db, failover\n---\n# X\n\ntext\n');
  assert.deepEqual(commaTags.meta.tags, ['db', 'failover']);
});

test('front matter that is not YAML, or fails the schema, is an error at its line in the file; the rest still parses without it', () => {
  const r = parseRunbook('x', 'x.md', ['---', 'title: Kept?', 'lock: [owner', '---', '# Still Here', '', '## Step', '', '- [ ] Do it', ''].join('\n'));
  assert.equal(r.title, 'Still Here', 'served without its front matter');
  assert.deepEqual(r.meta, {});
  assert.equal(r.tasks.length, 1);
  assert.equal(r.diagnostics.length, 1);
  assert.equal(r.diagnostics[0]!.severity, 'error');
  assert.equal(r.diagnostics[0]!.line, 3, 'counted from the top of the file');
  assert.match(r.diagnostics[0]!.message, /^front matter is not valid YAML/);
  const wrongType = parseRunbook('y', 'y.md', '---\ntitle: Y\nlock: 3\n---\n# Y\n\ntext\n');
  assert.deepEqual(wrongType.diagnostics, [{ line: 3, severity: 'error', message: 'front matter ignored: lock: Invalid option: expected one of "owner"|"none"' }]);
  assert.deepEqual(wrongType.meta, {}, 'not half-applied: title is dropped too');
  const notAMap = parseRunbook('z', 'z.md', '---\n- a\n---\n# Z\n\ntext\n');
  assert.equal(notAMap.diagnostics[0]?.severity, 'error');
  assert.equal(notAMap.diagnostics[0]?.line, 2);
});

test('unknown front-matter keys are kept and are not errors (other tools and newer capabilities add their own)', () => {
  const r = parseRunbook('h', 'h.md', '---\ntitle: H\nweight: 10\naliases: [security]\n---\n# H\n\ntext\n');
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.meta.weight, 10);
  assert.deepEqual((r.meta as Record<string, unknown>).aliases, ['security']);
});

test('an empty file, or one with nothing after its front matter, is a warning', () => {
  assert.deepEqual(parseRunbook('e', 'e.md', '').diagnostics, [{ line: 1, severity: 'warning', message: 'the runbook is empty' }]);
  assert.deepEqual(parseRunbook('e', 'e.md', '\n  \n').diagnostics, [{ line: 1, severity: 'warning', message: 'the runbook is empty' }]);
  assert.deepEqual(parseRunbook('f', 'f.md', '---\ntitle: F\n---\n\n').diagnostics, [{ line: 4, severity: 'warning', message: 'no text after the front matter' }]);
});

test('an explicit {#key} names the item and is not shown', () => {
  const r = parseRunbook('k', 'k.md', ['# K', '', '## Deploy', '', '- [ ] Tag the release {#tag-release}', '- [x] Announce it', ''].join('\n'));
  assert.equal(r.tasks[0]!.key, 'tag-release');
  assert.equal(r.tasks[0]!.plain, 'Tag the release');
  assert.equal(r.tasks[0]!.mrkdwn, 'Tag the release');
  assert.equal(r.tasks[1]!.key, 'deploy/announce-it');
  assert.equal(r.tasks[1]!.checked, true);
  const list = allSections(r)[0]!.blocks[0]!;
  assert.ok(list.kind === 'list');
  assert.equal(list.items[0]!.task?.key, 'tag-release');
  assert.ok(!JSON.stringify(list).includes('{#'));
});

test('an explicit key survives a rewording; a derived one follows the text', () => {
  const before = parseRunbook('k', 'k.md', '# K\n\n## S\n\n- [ ] Old words {#stable}\n- [ ] Old words too\n');
  const after = parseRunbook('k', 'k.md', '# K\n\n## S\n\n- [ ] New words {#stable}\n- [ ] New words too\n');
  assert.equal(after.tasks[0]!.key, before.tasks[0]!.key);
  assert.notEqual(after.tasks[1]!.key, before.tasks[1]!.key);
});

test('adding a paragraph elsewhere leaves every task key unchanged', () => {
  const lines = raw.split('\n');
  const edited = [...lines.slice(0, 8), 'A new paragraph, added later by someone.', '', ...lines.slice(8)].join('\n');
  const moved = parseRunbook('production-readiness', 'production-readiness.md', edited);
  assert.deepEqual(moved.tasks.map((t) => t.key), seed.tasks.map((t) => t.key));
  // Only the lines moved.
  assert.deepEqual(moved.tasks.map((t) => t.line), seed.tasks.map((t) => t.line + 2));
});

test('two identical items in one section get distinct keys and a warning', () => {
  const r = parseRunbook('d', 'd.md', '# D\n\n## S\n\n- [ ] Same\n- [ ] Same\n');
  assert.equal(r.tasks.length, 2);
  assert.notEqual(r.tasks[0]!.key, r.tasks[1]!.key);
  assert.ok(r.diagnostics.some((d) => d.severity === 'warning' && d.line === 6 && /duplicate item/.test(d.message)));
});

test('a duplicate explicit key is an error at the second item', () => {
  const r = parseRunbook('d', 'd.md', '# D\n\n## S\n\n- [ ] One {#dup}\n- [ ] Two {#dup}\n');
  assert.deepEqual(r.diagnostics, [{ line: 6, severity: 'error', message: 'duplicate item key {#dup}' }]);
});

test('tables keep their header and rows as text', () => {
  const score = section(seed, '📊 Current Production Readiness Score');
  const table = score.blocks.find((b) => b.kind === 'table');
  assert.ok(table && table.kind === 'table');
  assert.deepEqual(table.header, ['Category', 'Score', 'Status']);
  assert.equal(table.rows.length, 10);
  assert.deepEqual(table.rows[9], ['OVERALL', '90%', '🟡 READY WITH CAVEATS']);
});
