import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { applyChange, assignItems, createInstance } from '../src/checklist/store.ts';
import { openDb, type Db } from '../src/db/index.ts';
import { migrate } from '../src/db/migrate.ts';
import { RunbookLibrary } from '../src/runbooks/library.ts';
import { runbooksDir } from './support/harness.ts';
import { createSchema } from './support/pg.ts';

const run = promisify(execFile);
const LAUNCH = ['# Launch', '', '## Before', '- [x] Backups verified', '- [ ] DNS switched, "quoted", with commas', '- [ ] =SUM(A1) looks like a formula'].join('\n');

let dir: string;
let env: NodeJS.ProcessEnv;
let cleanup: () => Promise<void>;

/** A database the CLI can open too: a schema named in the URL on PostgreSQL, or a PGlite folder. */
async function sharedDb(): Promise<{ db: Db; env: Record<string, string>; drop(): Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const created = await createSchema(url);
    const db = await openDb({ url, schema: created.schema });
    return {
      db,
      env: { DATABASE_URL: created.url },
      drop: created.drop,
    };
  }
  const data = mkdtempSync(join(tmpdir(), 'preflight-data-'));
  return { db: await openDb({ dataDir: data }), env: { PREFLIGHT_DATA_DIR: data }, drop: async () => rmSync(data, { recursive: true, force: true }) };
}

before(async () => {
  dir = runbooksDir({ 'launch.md': LAUNCH });
  const shared = await sharedDb();
  await migrate(shared.db);
  const runbook = new RunbookLibrary(dir).load()[0]!;
  const now = new Date('2026-11-20T10:00:00Z');
  await createInstance(shared.db, runbook, { id: 'launch', name: 'Launch', actor: 'runbook', source: 'test' }, now);
  const dns = runbook.tasks[1]!.key;
  await applyChange(shared.db, { instanceId: 'launch', tick: [dns], untick: [], actor: 'UALICE', source: 'test', lockOwner: false, admins: [] }, now);
  await assignItems(shared.db, { instanceId: 'launch', keys: [runbook.tasks[2]!.key], owner: 'UBOB', actor: 'UALICE', source: 'test' }, now);
  await shared.db.close();
  const { DATABASE_URL: _drop, ...rest } = process.env;
  env = { ...rest, ...shared.env, RUNBOOKS_DIR: dir, SLACK_BOT_TOKEN: '', SLACK_SIGNING_SECRET: '', SLACK_APP_TOKEN: '' };
  cleanup = async () => {
    await shared.drop();
    rmSync(dir, { recursive: true, force: true });
  };
});
after(() => cleanup());

const cli = (...args: string[]) => run('node', ['bin/preflight.js', ...args], { env, cwd: new URL('..', import.meta.url).pathname });

test('preflight export --format csv: one row per item with who ticked it and when, quoted and formula-safe', async () => {
  const { stdout } = await cli('export', 'launch', '--format', 'csv');
  const lines = stdout.trim().split('\r\n');
  assert.equal(lines[0], 'section,item,key,checked,checked_by,checked_at,owner,due_at,due');
  assert.equal(lines.length, 4);
  // Ticked in the file: said so, with no made-up time.
  assert.match(lines[1]!, /^Before,Backups verified,before\/backups-verified,yes,in the runbook,,,,$/);
  assert.match(lines[2]!, /^Before,"DNS switched, ""quoted"", with commas",before\/dns-switched-quoted-with-commas,yes,UALICE,2026-11-20T10:00:00.000Z,/);
  assert.match(lines[3]!, /^Before,'=SUM\(A1\) looks like a formula,.*,no,,,UBOB,/);
});

test('preflight export --format md writes task lists with attributions', async () => {
  const out = join(dir, 'report.txt');
  await cli('export', 'launch', '--format', 'md', '--out', out);
  const md = readFileSync(out, 'utf8');
  assert.match(md, /^# Launch/);
  assert.match(md, /- \[x\] Backups verified _\(ticked in the runbook\)_\n/);
  assert.match(md, /- \[x\] DNS switched, "quoted", with commas _\(ticked by UALICE at 2026-11-20 10:00 UTC\)_/);
  assert.match(md, /- \[ \] =SUM\(A1\) looks like a formula _\(owner UBOB\)_/);
});

test('preflight export refuses an unknown checklist and a bad format', async () => {
  await assert.rejects(cli('export', 'nope'), (err: { code: number; stderr: string }) => err.code === 1 && /No checklist "nope"/.test(err.stderr));
  await assert.rejects(cli('export', 'launch', '--format', 'xml'), (err: { code: number }) => err.code === 2);
});

test('lint warns when an item with recorded state has disappeared from its runbook', async () => {
  const before = await cli('lint', dir);
  assert.doesNotMatch(before.stdout, /recorded state/);
  writeFileSync(join(dir, 'launch.md'), LAUNCH.replace('DNS switched', 'DNS cut over'));
  const { stdout } = await cli('lint', dir);
  assert.match(stdout, /launch\.md:1: warning: item "before\/dns-switched-quoted-with-commas" has recorded state in checklist "launch"/);
  // Items that were only assigned count as recorded state too.
  writeFileSync(join(dir, 'launch.md'), LAUNCH.replace('=SUM(A1) looks like a formula', 'Formula check'));
  assert.match((await cli('lint', dir)).stdout, /item "before\/sum-a1-looks-like-a-formula" has recorded state/);
});
