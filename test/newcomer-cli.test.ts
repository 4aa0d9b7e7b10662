import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { applyChange, assignItems, createInstance, setDue } from '../src/checklist/store.ts';
import { FakeSlack } from '../src/console/fakeSlack.ts';
import { openDb } from '../src/db/index.ts';
import { migrate } from '../src/db/migrate.ts';
import { RunbookLibrary } from '../src/runbooks/library.ts';
import { runbooksDir } from './support/harness.ts';
import { createSchema } from './support/pg.ts';

// Issue 11 points 7 and 9: the real `preflight` binary: exports name people (users.info against a local
// stand-in for Slack), usage errors are clear, and the CSV has no stray quote marks.

const run = promisify(execFile);
const LAUNCH = ['# Launch', '', '## Before', '- [x] Backups verified', '- [ ] DNS switched', '- [ ] Status page updated'].join('\n');

let dir: string;
let env: NodeJS.ProcessEnv;
let slack: FakeSlack;
let cleanup: () => Promise<void>;

before(async () => {
  dir = runbooksDir({ 'launch.md': LAUNCH });
  slack = new FakeSlack();
  await slack.start();
  slack.users.set('UBOB', 'bob');
  slack.users.set('UALICE', 'alice');
  const url = process.env.DATABASE_URL;
  const created = url ? await createSchema(url) : undefined;
  const data = mkdtempSync(join(tmpdir(), 'preflight-data-'));
  const db = url ? await openDb({ url, schema: created!.schema }) : await openDb({ dataDir: data });
  await migrate(db);
  const runbook = new RunbookLibrary(dir).load()[0]!;
  const now = new Date('2026-11-20T10:00:00Z');
  await createInstance(db, runbook, { id: 'launch', name: 'Launch', actor: 'runbook', source: 'test' }, now);
  const [, dns, status] = runbook.tasks.map((t) => t.key);
  await applyChange(db, { instanceId: 'launch', tick: [dns!], untick: [], actor: 'UBOB', source: 'test', lockOwner: false, admins: [] }, now);
  await assignItems(db, { instanceId: 'launch', keys: [status!], owner: 'UALICE', actor: 'UBOB', source: 'test' }, now);
  await setDue(db, { instanceId: 'launch', keys: [status!], dueAt: new Date('2026-11-23T10:00:00Z'), dueText: '+3d', actor: 'UBOB', source: 'test' }, now);
  await db.close();
  const { DATABASE_URL: _drop, ...rest } = process.env;
  env = {
    ...rest,
    ...(created ? { DATABASE_URL: created.url } : { PREFLIGHT_DATA_DIR: data }),
    RUNBOOKS_DIR: dir,
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: 'test-signing-secret',
    SLACK_APP_TOKEN: '',
    SLACK_API_URL: slack.apiUrl,
    LOG_LEVEL: 'silent',
  };
  cleanup = async () => {
    await created?.drop();
    await slack.stop();
    rmSync(data, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  };
});
after(() => cleanup());

const cli = (...args: string[]) => run('node', ['bin/preflight.js', ...args], { env, cwd: new URL('..', import.meta.url).pathname });

test('exports name who ticked and owns each item with the id beside it; file ticks say "in the runbook"', async () => {
  const csv = (await cli('export', 'launch', '--format', 'csv')).stdout.trim().split('\r\n');
  assert.match(csv[1]!, /^Before,Backups verified,[^,]+,yes,in the runbook,,,,$/, 'no fake time for a tick in the file');
  assert.match(csv[2]!, /,yes,bob \(UBOB\),2026-11-20T10:00:00.000Z,,,$/, `bob by name:\n${csv[2]}`);
  assert.match(csv[3]!, /,no,,,alice \(UALICE\),2026-11-23T10:00:00.000Z,now\+3d$/, `owner by name, and the due rule without a stray quote:\n${csv[3]}`);
  assert.ok(!csv.join('\n').includes("'"), 'no stray quote marks');
  assert.ok(slack.calls.some((c) => c.method === 'users.info'), 'names come from users.info');

  const md = (await cli('export', 'launch', '--format', 'md')).stdout;
  assert.match(md, /- \[x\] Backups verified _\(ticked in the runbook\)_/);
  assert.match(md, /- \[x\] DNS switched _\(ticked by bob \(UBOB\) at 2026-11-20 10:00 UTC\)_/);
  assert.match(md, /- \[ \] Status page updated _\(owner alice \(UALICE\); due 2026-11-23 10:00 UTC\)_/);
});

test('usage errors are one clear line: no command, an unknown format, a missing lint folder', async () => {
  const none = await cli().then(() => ({ code: 0, stdout: '' }), (err: { code: number; stdout: string }) => err);
  assert.equal(none.code, 2, 'no command is a usage error');
  assert.match(none.stdout, /^Usage: preflight <command>/);

  const pdf = await cli('export', 'launch', '--format', 'pdf').then(() => ({ code: 0, stderr: '' }), (err: { code: number; stderr: string }) => err);
  assert.equal(pdf.code, 2);
  assert.equal(pdf.stderr.trim(), 'preflight export: unknown format "pdf"; formats: csv, md');

  const lint = await cli('lint', join(dir, 'nope')).then(() => ({ code: 0, stderr: '' }), (err: { code: number; stderr: string }) => err);
  assert.equal(lint.code, 2);
  assert.equal(lint.stderr.trim().split('\n').length, 1, `one line:\n${lint.stderr}`);
  assert.match(lint.stderr, /^preflight lint: no runbooks folder at .*nope/);
  assert.doesNotMatch(lint.stderr, /ENOENT/);
});
