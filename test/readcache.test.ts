import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openDb, ReadCache, type Db } from '../src/db/index.ts';
import { freshDb, TEST_PG_URL } from './support/harness.ts';
import { freshSchema } from './support/pg.ts';

// Db.changes and ReadCache on a real database (PGlite, or PostgreSQL with DATABASE_URL), and across two
// instances on the PostgreSQL server either way.

let fresh: Awaited<ReturnType<typeof freshDb>>;
let db: Db;
before(async () => {
  fresh = await freshDb();
  db = fresh.db;
  await db.exec('create table counted (n int)');
});
after(async () => fresh?.drop());

/** A cache over `select count(*)` with the number of times it really read. */
function counter(on: Db, maxAgeMs = 60_000) {
  const cache = new ReadCache<number>(on, { maxAgeMs, maxKeys: 2 });
  const ask = (key = 'n') => cache.get(key, async () => Number((await on.query<{ n: string }>('select count(*) as n from counted'))[0]!.n));
  return { cache, ask };
}

test('Db.changes moves when a write ends (statements but plain selects, scripts, transactions, failed ones too)', async () => {
  const moves = async (what: string, fn: () => Promise<unknown>, by: number) => {
    const before = db.changes;
    await fn().catch(() => undefined);
    assert.equal(db.changes - before, by, what);
  };
  await moves('a plain select', () => db.query('select count(*) from counted'), 0);
  await moves('a select with leading space and newlines', () => db.query('\n  SELECT 1'), 0);
  await moves('an insert', () => db.query('insert into counted values ($1)', [1]), 1);
  await moves('a data-modifying with', () => db.query('with x as (delete from counted returning n) select count(*) from x'), 1);
  await moves('a script', () => db.exec('insert into counted values (2); delete from counted'), 1);
  await moves('a transaction, once', () => db.transaction(async (tx) => { await tx.query('insert into counted values (3)'); await tx.query('delete from counted'); }), 1);
  await moves('a failed statement (it may have reached the server)', () => db.query('insert into nosuch values (1)'), 1);
});

test('ReadCache answers again while nothing is written, and reads again after a write this process made', async () => {
  await db.query('delete from counted');
  const { cache, ask } = counter(db);
  assert.deepEqual(await Promise.all([ask(), ask(), ask()]), [0, 0, 0], 'concurrent asks');
  assert.equal(cache.reads, 1, 'concurrent asks share one read');
  assert.equal(await ask(), 0, 'asked again');
  assert.equal(cache.reads, 1, 'answered from the cache while nothing was written');
  await db.query('insert into counted values (1)');
  assert.equal(await ask(), 1, 'a write made through this Db is seen at once');
  assert.equal(cache.reads, 2, 'read again after the write');
  await db.transaction((tx) => tx.query('insert into counted values (2)'));
  assert.equal(await ask(), 2, 'and after a transaction');
  assert.equal(await ask('other'), 2, 'another key reads on its own');
  assert.equal(await ask('third'), 2, 'a third key');
  const reads = cache.reads;
  assert.equal(await ask(), 2, 'the oldest key went beyond maxKeys');
  assert.equal(cache.reads, reads + 1, 'so it was read again');
});

test('ReadCache: a write that ends while a read runs makes the next ask read again; a failed read is not kept', async () => {
  await db.query('delete from counted');
  const cache = new ReadCache<number>(db, { maxAgeMs: 60_000, maxKeys: 10 });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  // The read's snapshot is taken before the write commits; the write ends before the read does.
  const slow = cache.get('n', async () => {
    const n = Number((await db.query<{ n: string }>('select count(*) as n from counted'))[0]!.n);
    await gate;
    return n;
  });
  await db.query('insert into counted values (1)');
  release();
  assert.equal(await slow, 0, 'the read in flight saw the table before the write');
  const fresh = await cache.get('n', async () => Number((await db.query<{ n: string }>('select count(*) as n from counted'))[0]!.n));
  assert.equal(fresh, 1, 'the next ask read again and saw the write');

  await assert.rejects(cache.get('broken', () => Promise.reject(new Error('database unavailable'))), /unavailable/, 'a failed read fails its askers');
  assert.equal(await cache.get('broken', async () => 7), 7, 'and is not kept: the next ask reads');
});

test('ReadCache: a write made by another instance on the same PostgreSQL is seen once maxAgeMs has passed', async () => {
  const shared = await freshSchema(TEST_PG_URL, 'rc');
  const other = await openDb({ url: TEST_PG_URL, schema: shared.schema });
  try {
    await shared.db.exec('create table counted (n int)');
    const { cache, ask } = counter(shared.db, 200);
    assert.equal(await ask(), 0, 'empty at first');
    await other.query('insert into counted values (1)');
    assert.equal(shared.db.changes, 1, 'the other instance\'s write is not counted here (only the create table is)');
    // Within maxAgeMs the cached 0 may stand (how long this takes is the machine's); past it, the write is seen.
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(await ask(), 1, 'after maxAgeMs the write is seen');
    assert.ok(cache.reads >= 2, `read again: ${cache.reads} reads`);
  } finally {
    await other.close();
    await shared.drop();
  }
});
