import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Db } from '../src/db/index.ts';
import { migrate } from '../src/db/migrate.ts';
import { RetryLater, Scheduler } from '../src/jobs/scheduler.ts';
import { getJob } from '../src/jobs/store.ts';
import { createLogger } from '../src/log.ts';
import { freshDb } from './support/harness.ts';

// The scheduler's side of running on several instances (issue 12): leases renewed while Slack is slow,
// 429s that back off without being lost or brought forward, wake-ups that are not dropped.

let fresh: Awaited<ReturnType<typeof freshDb>>;
let db: Db;
const log = createLogger('silent');

before(async () => {
  fresh = await freshDb();
  db = fresh.db;
  await migrate(db);
});
after(async () => fresh?.drop());

test('a job still running past its lease keeps its claim: another instance does not run it alongside', async () => {
  const now = () => new Date();
  const slow = new Scheduler({ db, log, now, leaseMs: 300 });
  const other = new Scheduler({ db, log, now, leaseMs: 300 });
  const ran: string[] = [];
  slow.define({ name: 'slow-slack', run: async () => { ran.push('slow'); await new Promise((r) => setTimeout(r, 1000)); } });
  other.define({ name: 'slow-slack', run: async () => void ran.push('other') });
  await slow.schedule({ name: 'slow-slack', key: 's', runAt: now() });
  const running = slow.runDue();
  // Over three lease lengths, the other instance keeps polling.
  for (let i = 0; i < 9; i++) {
    await new Promise((r) => setTimeout(r, 100));
    await other.runDue();
  }
  await running;
  assert.deepEqual(ran, ['slow'], `one run only, by the instance holding the claim: ${ran}`);
  assert.equal((await getJob(db, 'slow-slack', 's'))?.state, 'done', 'done once finished');
  await Promise.all([slow.stop(), other.stop()]);
});

test('a job that must back off (429) runs again after Retry-After, the attempt not counted, and asking again cannot bring it forward', async () => {
  let clock = new Date('2026-12-01T09:00:00Z');
  const s = new Scheduler({ db, log, now: () => clock, wall: () => clock });
  let runs = 0;
  s.define({ name: 'limited', maxAttempts: 1, minIntervalMs: 1000, run: async () => { runs++; if (runs === 1) throw new RetryLater(5000, 'ratelimited'); } });
  await s.schedule({ name: 'limited', key: 'r', runAt: clock }, { rearm: true });
  await s.runDue();
  let job = await getJob(db, 'limited', 'r');
  assert.equal(job?.state, 'pending', 'given back, not failed, although maxAttempts is 1');
  assert.equal(job?.attempts, 0, 'the rate-limited attempt does not count');
  assert.equal(job!.notBefore?.getTime(), clock.getTime() + 5000, 'due after Retry-After');
  await s.schedule({ name: 'limited', key: 'r', runAt: clock }, { rearm: true });
  job = await getJob(db, 'limited', 'r');
  assert.equal(job!.notBefore?.getTime(), clock.getTime() + 5000, 'a new change does not bring it forward');
  clock = new Date(clock.getTime() + 4000);
  await s.runDue();
  assert.equal(runs, 1, 'not before Retry-After');
  clock = new Date(clock.getTime() + 1000);
  await s.runDue();
  assert.equal(runs, 2, 'runs once Retry-After has passed');
  assert.equal((await getJob(db, 'limited', 'r'))?.state, 'done', 'and is done');
  await s.stop();
});

test('a later wake-up is not dropped for an earlier one: a rerun 1 s later runs without waiting for the poll', async () => {
  const now = () => new Date();
  const s = new Scheduler({ db, log, now });
  const ran: Array<{ key: string; at: number }> = [];
  s.define({ name: 'wakes', minIntervalMs: 1000, run: async (job) => void ran.push({ key: job.key, at: Date.now() }) });
  // A poll an hour apart: only the instance's own wake-ups can run these in time.
  s.start(3_600_000);
  await s.idle();
  const t0 = Date.now();
  await s.schedule({ name: 'wakes', key: 'a', runAt: new Date(t0 + 300) }, { rearm: true });
  await s.schedule({ name: 'wakes', key: 'b', runAt: new Date(t0 + 100) }, { rearm: true });
  for (let i = 0; i < 100 && ran.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(ran.map((r) => r.key).sort(), ['a', 'b'], `both ran on their own wake-ups: ${JSON.stringify(ran)}`);
  // Asked again right after its run: the rerun at +1 s needs its own wake-up.
  await s.schedule({ name: 'wakes', key: 'b', runAt: new Date() }, { rearm: true });
  for (let i = 0; i < 100 && ran.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(ran.length, 3, `b ran again without a poll: ${JSON.stringify(ran)}`);
  await s.stop();
});
