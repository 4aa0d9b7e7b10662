import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Db } from '../src/db/index.ts';
import { migrate, MigrationError, readMigrations } from '../src/db/migrate.ts';
import { freshDb } from './support/harness.ts';

const MIGRATIONS = fileURLToPath(new URL('../src/db/migrations/', import.meta.url));
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function db(): Promise<Db> {
  const fresh = await freshDb();
  cleanups.push(() => fresh.drop());
  return fresh.db;
}

/** A copy of the shipped migrations in a temp folder, to edit without touching the real ones. */
function migrationsCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'preflight-migrations-'));
  for (const f of readdirSync(MIGRATIONS).filter((f) => f.endsWith('.sql'))) cpSync(join(MIGRATIONS, f), join(dir, f));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function tableExists(d: Db, name: string): Promise<boolean> {
  const rows = await d.query<{ n: number }>('select count(*)::int as n from information_schema.tables where table_schema = current_schema() and table_name = $1', [name]);
  return rows[0]!.n === 1;
}

const shipped = readMigrations().map((m) => m.name);

test('migrate applies every migration once; a second run applies none', async () => {
  const d = await db();
  assert.ok(shipped.length >= 1);
  assert.deepEqual(await migrate(d), shipped);
  assert.deepEqual(await migrate(d), []);
  const rows = await d.query<{ name: string }>('select name from schema_migrations order by id');
  assert.deepEqual(rows.map((r) => r.name), shipped);
  assert.ok(await tableExists(d, 'runbook_sections'));
  assert.ok(await tableExists(d, 'processed_events'));
});

test('three concurrent migrate() calls all succeed and apply each migration exactly once', async () => {
  const d = await db();
  const results = await Promise.all([migrate(d), migrate(d), migrate(d)]);
  // Exactly one caller applied everything; the others found nothing left to do.
  assert.deepEqual(results.flat().sort(), [...shipped].sort());
  assert.equal(results.filter((r) => r.length > 0).length, 1, JSON.stringify(results));
  const rows = await d.query<{ name: string }>('select name from schema_migrations order by id');
  assert.deepEqual(rows.map((r) => r.name), shipped);
  const tables = await d.query<{ n: number }>(
    "select count(*)::int as n from information_schema.tables where table_schema = current_schema() and table_name = 'runbook_sections'",
  );
  assert.equal(tables[0]!.n, 1);
});

test('a migration edited after it was applied is refused by name, and nothing newer is applied', async () => {
  const d = await db();
  const dir = migrationsCopy();
  assert.deepEqual(await migrate(d, dir), shipped);
  const first = shipped[0]!;
  appendFileSync(join(dir, first), '\n-- an innocent-looking edit\n');
  writeFileSync(join(dir, '9999_after_edit.sql'), 'create table after_edit (id int);\n');
  await assert.rejects(migrate(d, dir), (err: unknown) => {
    assert.ok(err instanceof MigrationError, String(err));
    assert.ok(err.message.includes(first), err.message);
    assert.match(err.message, /edited/);
    return true;
  });
  assert.equal(await tableExists(d, 'after_edit'), false);
  const rows = await d.query<{ name: string }>('select name from schema_migrations order by id');
  assert.deepEqual(rows.map((r) => r.name), shipped);
});

test('a new migration file is applied on the next run; an applied file that vanished is refused by name', async () => {
  const d = await db();
  const dir = migrationsCopy();
  await migrate(d, dir);
  writeFileSync(join(dir, '9998_added_later.sql'), 'create table added_later (id int);\n');
  assert.deepEqual(await migrate(d, dir), ['9998_added_later.sql']);
  assert.ok(await tableExists(d, 'added_later'));
  unlinkSync(join(dir, '9998_added_later.sql'));
  await assert.rejects(migrate(d, dir), (err: unknown) => err instanceof MigrationError && err.message.includes('9998_added_later.sql') && /gone/.test(err.message));
});

test('a failing migration rolls back completely: no table, no record', async () => {
  const d = await db();
  const dir = migrationsCopy();
  writeFileSync(join(dir, '9997_broken.sql'), 'create table half_done (id int);\nselect * from no_such_table;\n');
  await assert.rejects(migrate(d, dir));
  assert.equal(await tableExists(d, 'half_done'), false);
  assert.equal(await tableExists(d, 'schema_migrations'), false, 'the whole run was one transaction');
  unlinkSync(join(dir, '9997_broken.sql'));
  assert.deepEqual(await migrate(d, dir), shipped);
});
