import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openDb, type Db } from '../src/db/index.ts';
import { migrate } from '../src/db/migrate.ts';
import { Scheduler } from '../src/jobs/scheduler.ts';
import { claimDue, getJob, insertJob, listJobs } from '../src/jobs/store.ts';
import { createLogger } from '../src/log.ts';
import { eventually, freshDb } from './support/harness.ts';

// The one scheduler, on a real database (PGlite, or PostgreSQL with DATABASE_URL): claims, reruns, retries, leases.

let fresh: Awaited<ReturnType<typeof freshDb>>;
let db: Db;
let clock = new Date('2026-12-01T09:00:00Z');
const now = () => clock;
const log = createLogger('silent');

before(async () => {
  fresh = await freshDb();
  db = fresh.db;
  await migrate(db);
});
after(async () => fresh?.drop());

// One test clock drives both the app's clock and the wall clock of technical waits (intervals, backoff).
const scheduler = () => new Scheduler({ db, log, now, wall: now });

test('a job is stored once per (name, key) and runs once when due, on whichever of two schedulers claims it', async () => {
  const ran: string[] = [];
  const [a, b] = [scheduler(), scheduler()];
  for (const [s, who] of [[a, 'a'], [b, 'b']] as const) s.define({ name: 'once', run: async (job) => void ran.push(`${who}:${job.key}`) });
  assert.equal(await a.schedule({ name: 'once', key: 'k1', runAt: new Date(clock.getTime() + 60_000) }), true, 'first schedule creates the job');
  assert.equal(await b.schedule({ name: 'once', key: 'k1', runAt: new Date(clock.getTime() + 60_000) }), false, 'second schedule is the same job');
  assert.deepEqual(await Promise.all([a.runDue(), b.runDue()]), [0, 0], 'nothing is due before its time');
  clock = new Date(clock.getTime() + 61_000);
  const counts = await Promise.all([a.runDue(), b.runDue(), a.runDue()]);
  assert.equal(counts[0]! + counts[1]!, 1, `one run in all, got ${counts}`);
  assert.equal(ran.length, 1, `ran once: ${ran}`);
  assert.equal((await getJob(db, 'once', 'k1'))?.state, 'done', 'job is done');
  await Promise.all([a.stop(), b.stop()]);
});

test('rearming a job that is running runs it once more after, at least minIntervalMs later', async () => {
  const s = scheduler();
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  s.define({ name: 'redraw', minIntervalMs: 1000, run: async () => { runs++; if (runs === 1) await gate; } });
  await s.schedule({ name: 'redraw', key: 'm1', runAt: clock }, { rearm: true });
  const first = s.runDue();
  await new Promise((r) => setTimeout(r, 50));
  await s.schedule({ name: 'redraw', key: 'm1', runAt: clock }, { rearm: true });
  await s.schedule({ name: 'redraw', key: 'm1', runAt: clock }, { rearm: true });
  release();
  await first;
  assert.equal(runs, 1, 'the rerun waits for its interval');
  const job = await getJob(db, 'redraw', 'm1');
  assert.equal(job?.state, 'pending', 'asked again while running: pending once more');
  assert.equal(job!.runAt.getTime(), clock.getTime(), 'due at once on the app clock');
  assert.equal(job!.notBefore?.getTime(), clock.getTime() + 1000, 'but not before the minimum interval, on the wall clock');
  clock = new Date(clock.getTime() + 1000);
  await s.runDue();
  assert.equal(runs, 2, 'two asks during a run made exactly one more run');
  await s.schedule({ name: 'redraw', key: 'm1', runAt: clock }, { rearm: true });
  assert.equal((await getJob(db, 'redraw', 'm1'))?.state, 'pending', 'a done job rearms');
  await s.runDue();
  assert.equal(runs, 2, 'a done job asked again right after its run still waits for its interval');
  clock = new Date(clock.getTime() + 1000);
  await s.runDue();
  assert.equal(runs, 3, 'and runs again');
  await s.stop();
});

test('asking again for work already asked for writes nothing, so concurrent clicks do not queue on its row; the claim still waits for them', async () => {
  const s = scheduler();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let runs = 0;
  s.define({ name: 'again', minIntervalMs: 1000, run: async () => { runs++; if (runs === 1) await gate; } });
  const job = { name: 'again', key: 'k', runAt: clock, notBefore: new Date(clock.getTime() - 1), payload: { ref: 'k' } };
  // A row's xmin changes with every write of it: the same xmin means the ask took no row lock to write.
  const version = async () => (await db.query<{ v: string }>("select xmin::text as v from jobs where name = 'again' and key = 'k'"))[0]?.v;
  await s.schedule(job, { rearm: true });
  const pending = await version();
  await s.schedule({ ...job, runAt: new Date(clock.getTime() + 5000) }, { rearm: true });
  assert.equal(await version(), pending, 'pending and due no later: nothing to write');
  await s.schedule({ ...job, payload: { ref: 'other' } }, { rearm: true });
  assert.notEqual(await version(), pending, 'a new payload is written');
  assert.deepEqual((await getJob(db, 'again', 'k'))?.payload, { ref: 'other' }, 'with the new payload');

  const first = s.runDue();
  await eventually(async () => assert.equal((await getJob(db, 'again', 'k'))?.state, 'running', 'the job is running'));
  await s.schedule({ ...job, payload: { ref: 'other' } }, { rearm: true });
  const rerunDue = await version();
  await s.schedule({ ...job, payload: { ref: 'other' } }, { rearm: true });
  assert.equal(await version(), rerunDue, 'running with its rerun already due: nothing to write');
  release();
  await first;
  assert.equal((await getJob(db, 'again', 'k'))?.state, 'pending', 'the rerun asked for during the run is kept');
  clock = new Date(clock.getTime() + 1000);
  await s.runDue();
  assert.equal(runs, 2, 'and runs once');

  const url = process.env.DATABASE_URL;
  if (url && fresh.schema) {
    // On PostgreSQL, with a second connection: a click's open transaction that asked again holds the row only in
    // share mode. Another click goes through at once (lock_timeout would fail it), and the claim skips the row
    // until the first commits, so the run it starts reads that click's change.
    const now = { ...job, runAt: clock };
    await s.schedule(now, { rearm: true });
    const other = await openDb({ url, schema: fresh.schema });
    let commit!: () => void;
    const held = new Promise<void>((r) => (commit = r));
    try {
      let asked!: () => void;
      const askedInTx = new Promise<void>((r) => (asked = r));
      const click = other.transaction(async (tx) => {
        await insertJob(tx, now, { rearm: true });
        asked();
        await held;
      });
      await askedInTx;
      await db.transaction(async (tx) => {
        await tx.query("set local lock_timeout = '2s'");
        await insertJob(tx, now, { rearm: true });
      });
      const later = new Date(clock.getTime() + 60_000);
      const claim = () => claimDue(db, { worker: 'w', now: later, wall: later, leaseMs: 60_000, limit: 5, names: ['again'] });
      assert.deepEqual(await claim(), [], 'the claim waits for the open click');
      commit();
      await click;
      assert.deepEqual((await claim()).map((j) => j.key), ['k'], 'and takes the job once it committed');
    } finally {
      commit();
      await other.close();
    }
  }
  await s.stop();
});

test('a statement run on its own that PostgreSQL picks as a deadlock victim runs again (it changed nothing)', async () => {
  await db.exec('create table deadlock_probe (id int primary key, v int not null); insert into deadlock_probe values (1, 0), (2, 0)');
  const both = "with b as (update deadlock_probe set v = v + 10 where id = 2 returning id) update deadlock_probe set v = v + 10 where id = 1 and exists (select from b)";
  const url = process.env.DATABASE_URL;
  if (url && fresh.schema) {
    // Another transaction holds row 1; the statement takes row 2 and waits for row 1; the other then asks for
    // row 2. The statement waited first, so its backend finds the deadlock and it is the one aborted.
    const other = await openDb({ url, schema: fresh.schema });
    try {
      let statement: Promise<unknown> | undefined;
      await other.transaction(async (tx) => {
        await tx.query('update deadlock_probe set v = v + 1 where id = 1');
        statement = db.query(both);
        // Asked outside this transaction: within one, PostgreSQL shows the same pg_stat_activity snapshot.
        await eventually(async () => assert.equal((await db.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like 'with b as (update deadlock_probe%'"))[0]?.n, 1, 'the statement waits for row 1'));
        await tx.query('update deadlock_probe set v = v + 1 where id = 2');
      });
      await statement;
    } finally {
      await other.close();
    }
  } else {
    await db.query('update deadlock_probe set v = v + 1 where id = any($1::int[])', [[1, 2]]);
    await db.query(both);
  }
  assert.deepEqual(await db.query('select id, v from deadlock_probe order by id'), [{ id: 1, v: 11 }, { id: 2, v: 11 }], 'both changes made, each once');
});

test('a failing job is retried with backoff and marked failed after its attempts', async () => {
  const s = scheduler();
  let tries = 0;
  s.define({ name: 'flaky', maxAttempts: 2, run: async () => { tries++; throw new Error('slack said no'); } });
  await s.schedule({ name: 'flaky', key: 'f', runAt: clock });
  await s.runDue();
  let job = await getJob(db, 'flaky', 'f');
  assert.equal(job?.state, 'pending', 'retried after a failure');
  assert.equal(job?.lastError, 'slack said no', 'error kept');
  clock = new Date(clock.getTime() + 1000);
  await s.runDue();
  job = await getJob(db, 'flaky', 'f');
  assert.equal(tries, 2, 'two attempts');
  assert.equal(job?.state, 'failed', 'failed for good after maxAttempts');
  await s.stop();
});

test('a claim whose worker died is taken by another after the lease; stop() hands back what it holds', async () => {
  const dead = scheduler();
  dead.define({ name: 'lease', run: () => new Promise(() => undefined) });
  await dead.schedule({ name: 'lease', key: 'l', runAt: clock });
  void dead.runDue();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await getJob(db, 'lease', 'l'))?.state, 'running', 'claimed by the first worker');
  const alive = scheduler();
  let ran = 0;
  alive.define({ name: 'lease', run: async () => void ran++ });
  await alive.runDue();
  assert.equal(ran, 0, 'not taken while the lease holds');
  clock = new Date(clock.getTime() + 31_000);
  await alive.runDue();
  assert.equal(ran, 1, 'taken once the lease ran out');
  await alive.stop();

  const leaving = scheduler();
  leaving.define({ name: 'handback', run: async () => undefined });
  await db.query("insert into jobs (name, key, run_at, state, locked_by, locked_until, attempts) values ('handback', 'h', $1, 'running', $2, $3, 1)", [clock, leaving.worker, new Date(clock.getTime() + 30_000)]);
  await leaving.stop();
  const handed = await getJob(db, 'handback', 'h');
  assert.equal(handed?.state, 'pending', 'given back on stop');
  assert.equal(handed?.attempts, 0, 'the interrupted attempt does not count');
});

test('producers turn recurring rules into jobs on every pass, idempotently', async () => {
  const s = scheduler();
  const posted: string[] = [];
  s.define({ name: 'fire', run: async (job) => void posted.push(job.key) });
  s.produce('every-minute', async (t) => {
    const minute = new Date(Math.floor(t.getTime() / 60_000) * 60_000);
    await s.schedule({ name: 'fire', key: minute.toISOString(), runAt: minute });
  });
  await s.runDue();
  await s.runDue();
  clock = new Date(clock.getTime() + 60_000);
  await s.runDue();
  assert.equal(posted.length, 2, `one fire a minute: ${posted}`);
  assert.equal((await listJobs(db, { name: 'fire' })).length, 2, 'two rows');
  await s.stop();
});
