import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { FakeSlack } from '../src/console/fakeSlack.ts';
import { openDb } from '../src/db/index.ts';
import { migrate } from '../src/db/migrate.ts';
import { allSteps, plansOf } from '../src/rollback/domain.ts';
import { createRun, resolveStep } from '../src/rollback/store.ts';
import { RunbookLibrary } from '../src/runbooks/library.ts';
import { createSchema } from './support/pg.ts';
import { seedDir } from './support/rollback.ts';

// `preflight export rollback <run> --format md`: the timeline from the database, by the CLI in its own process.

const exec = promisify(execFile);

test('preflight export rollback writes the run\'s timeline; unknown runs and other formats are refused', async () => {
  const dir = seedDir();
  const url = process.env.DATABASE_URL;
  const created = url ? await createSchema(url) : undefined;
  const data = url ? undefined : mkdtempSync(join(tmpdir(), 'preflight-data-'));
  const db = created ? await openDb({ url, schema: created.schema }) : await openDb({ dataDir: data });
  const slack = new FakeSlack();
  await slack.start();
  try {
    await migrate(db);
    const plan = plansOf(new RunbookLibrary(dir).load().find((r) => r.id === 'production-readiness')!)[0]!;
    const t0 = new Date('2026-12-01T10:00:00Z');
    const run = await createRun(db, { plan, channel: 'C1', startedBy: 'UALICE', reason: 'bad | deploy', drill: false, values: {} }, t0, async () => undefined);
    const steps = allSteps(plan);
    for (const [i, s] of steps.entries()) {
      const skip = s.conditional;
      await resolveStep(db, { runId: run.id, stepKey: s.key, status: skip ? 'skipped' : 'done', actor: i % 2 ? 'UBOB' : 'UALICE', reason: skip ? 'not needed' : undefined }, new Date(t0.getTime() + (i + 1) * 60_000), async () => undefined);
    }
    await db.close();
    // With a bot token, people are named through Slack's users.info (here the fake Slack, which knows alice).
    slack.users.set('UALICE', 'alice');
    const env: NodeJS.ProcessEnv = { ...process.env, RUNBOOKS_DIR: dir, SLACK_BOT_TOKEN: 'xoxb-export', SLACK_API_URL: slack.apiUrl, SLACK_SIGNING_SECRET: 'export-test-signing-secret-0123456789', SLACK_APP_TOKEN: '', ...(created ? { DATABASE_URL: created.url } : { PREFLIGHT_DATA_DIR: data }) };
    if (!created) delete env.DATABASE_URL;
    const cli = (...args: string[]) => exec('node', ['bin/preflight.js', ...args], { env, cwd: new URL('..', import.meta.url).pathname });
    const out = join(dir, 'timeline.md');
    await cli('export', 'rollback', String(run.id), '--format', 'md', '--out', out);
    const md = readFileSync(out, 'utf8');
    assert.match(md, new RegExp(`^# Rollback #${run.id}: 🆘 Rollback Plan\\n`));
    assert.match(md, /- Started: 2026-12-01 10:00:00Z by alice \(UALICE\) — bad \\\| deploy/);
    assert.match(md, /- State: completed at 2026-12-01 10:07:00Z/);
    assert.match(md, /\| 1 \| Immediate Actions \| < 5 min \| 2m 00s \| within budget \|/);
    assert.match(md, /\| 2 \| Database Rollback \| < 15 min \| 2m 00s \| within budget \|/);
    const rows = md.split('\n').filter((l) => /^\| (Immediate Actions|Database Rollback|Communication) \|/.test(l));
    assert.deepEqual(rows.map((r) => r.split(' | ').slice(1, 4)), steps.map((s, i) => [s.conditional ? `${s.name} (conditional)` : s.name, s.conditional ? 'skipped' : 'done', i % 2 ? 'ubob (UBOB)' : 'alice (UALICE)']), 'every step in plan order with its actor, by name');
    assert.match(md, /\| If needed, restore from backup \(conditional\) \| skipped \| ubob \(UBOB\) \| 2026-12-01 10:04:00Z \| 4m 00s \| not needed \|/);
    assert.match(md, /- 2026-12-01 10:07:00Z \(\+7m 00s\) Preflight: completed\n$/);
    const { stdout } = await cli('export', 'rollback', `#${run.id}`, '--format', 'md');
    assert.equal(stdout, md, 'to stdout, #run works too');
    await assert.rejects(cli('export', 'rollback', '999', '--format', 'md'), (err: { code: number; stderr: string }) => err.code === 1 && /No rollback run "999"/.test(err.stderr));
    await assert.rejects(cli('export', 'rollback', String(run.id), '--format', 'csv'), (err: { code: number }) => err.code === 2);
  } finally {
    await slack.stop();
    await db.close().catch(() => undefined);
    await created?.drop();
    if (data) rmSync(data, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
