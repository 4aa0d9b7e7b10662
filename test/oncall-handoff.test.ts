import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectDb, type Db } from '../src/db/index.ts';
import { listJobs } from '../src/jobs/store.ts';
import { createLogger } from '../src/log.ts';
import { freshDb, runbooksDir, startApp, type TestApp } from './support/harness.ts';

// Handoffs through the one scheduler: several instances on one database with an injected clock (pollMs 0,
// the test runs deps.jobs.runDue()), stopped and restarted across handoffs.

const ONCALL_YML = `rotations:
  - id: primary
    name: Primary on-call
    timezone: Europe/Berlin
    handoff: { every: week, day: monday, time: "09:00" }
    start: 2026-11-02
    members: [UALICE, UBOB, UCAROL]
    channel: C0ONCALL
    usergroup: S0ONCALL
`;

let clock = new Date('2026-11-02T07:59:59Z');
let fresh: Awaited<ReturnType<typeof freshDb>>;
const extraDbs: Db[] = [];
const apps: TestApp[] = [];
const stopped: TestApp[] = [];

before(async () => {
  fresh = await freshDb();
});
after(async () => {
  for (const a of apps) await a.stop();
  for (const db of extraDbs) await db.close();
  await fresh?.drop();
});

/** An instance on the shared database: on PostgreSQL with its own connection pool, as another process would. */
async function instance(): Promise<TestApp> {
  let db = fresh.db;
  if (process.env.DATABASE_URL && apps.length) {
    db = await connectDb({ url: process.env.DATABASE_URL, schema: fresh.schema, log: createLogger('silent') });
    extraDbs.push(db);
  }
  const app = await startApp({ runbooks: runbooksDir({ 'oncall.yml': ONCALL_YML }), db, now: () => clock, pollMs: 0 });
  apps.push(app);
  return app;
}

async function stop(app: TestApp): Promise<void> {
  apps.splice(apps.indexOf(app), 1);
  stopped.push(app);
  await app.stop();
}

/** Every post any instance made to a channel (each instance has its own fake Slack). */
function posts(channel: string): string[] {
  return [...stopped, ...apps].flatMap((a) => a.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.body.channel === channel).map((c) => String(c.body.text)));
}

const runAll = (list: TestApp[]) => Promise.all(list.flatMap((a) => [a.preflight.deps.jobs.runDue(), a.preflight.deps.jobs.runDue()]));

test('two instances on one database post each handoff once, set the user group, and DM the next person a day before', async () => {
  const [a, b] = [await instance(), await instance()];
  await runAll([a, b]);
  assert.deepEqual(posts('C0ONCALL'), [], 'nothing before the first handoff');
  assert.equal(posts('UALICE').length, 1, 'alice is reminded (late, but before her first shift)');

  clock = new Date('2026-11-02T08:00:00Z');
  await runAll([a, b]);
  await runAll([a, b]);
  const first = posts('C0ONCALL');
  assert.equal(first.length, 1, `one post for the handoff, got ${JSON.stringify(first)}`);
  assert.match(first[0]!, /^<@UALICE> is now on call for \*Primary on-call\* until <!date\^1794211200\^[^>]+>; next: <@UBOB>\.$/);
  assert.doesNotMatch(first[0]!, /late/);
  const groups = [a, b].map((x) => x.slack.usergroups.get('S0ONCALL')).filter(Boolean);
  assert.deepEqual(groups, [['UALICE']], 'the user group is set once, to alice');

  clock = new Date('2026-11-08T08:00:30Z');
  await runAll([a, b]);
  assert.equal(posts('UBOB').length, 1, 'bob is reminded a day before his shift');
  assert.match(posts('UBOB')[0]!, /you are on call for \*Primary on-call\* from <!date\^1794211200\^/);
  assert.equal(posts('C0ONCALL').length, 1, 'no handoff yet');
  for (const x of [a, b]) assert.deepEqual(x.slack.rejections, []);
  await stop(a);
  await stop(b);
});

test('a restart across a handoff neither skips nor repeats it; a handoff missed while all were down is announced once, late', async () => {
  // Every instance was down at 09:00; one starts 20 s later.
  clock = new Date('2026-11-09T08:00:20Z');
  const c = await instance();
  await runAll([c]);
  let channel = posts('C0ONCALL');
  assert.equal(channel.length, 2, `the handoff is announced once: ${JSON.stringify(channel)}`);
  assert.match(channel[1]!, /^<@UBOB> is now on call/);
  assert.doesNotMatch(channel[1]!, /late/, 'within a minute it is not called late');
  assert.deepEqual(c.slack.usergroups.get('S0ONCALL'), ['UBOB']);

  // Restart again after it was announced: no repeat, and the week-old one is not announced again.
  await stop(c);
  clock = new Date('2026-11-09T08:05:00Z');
  const d = await instance();
  await runAll([d]);
  assert.equal(posts('C0ONCALL').length, 2, 'no repeat after a restart');

  // Down across two handoffs (16 and 23 Nov): only the latest is announced, once, saying it is late.
  await stop(d);
  clock = new Date('2026-11-23T10:00:00Z');
  const [e, f] = [await instance(), await instance()];
  await runAll([e, f]);
  await runAll([e, f]);
  channel = posts('C0ONCALL');
  assert.equal(channel.length, 3, `one late announcement: ${JSON.stringify(channel)}`);
  assert.match(channel[2]!, /^<@UALICE> is now on call .*announced late: Preflight was not running at the handoff, <!date\^1795420800\^/);
  const handoffs = await listJobs(fresh.db, { name: 'oncall:handoff' });
  assert.deepEqual(handoffs.map((j) => j.key).sort(), ['primary:2026-11-02T08:00:00.000Z', 'primary:2026-11-09T08:00:00.000Z', 'primary:2026-11-23T08:00:00.000Z'], '16 Nov was skipped, as only the latest missed handoff is announced');
  assert.ok(handoffs.every((j) => j.state === 'done'), 'all done');
  for (const x of [e, f]) assert.deepEqual(x.slack.rejections, []);
});
