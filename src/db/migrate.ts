import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

/** src/db/migrations, found from this file whether it runs from src/ (tsx) or bundled in dist/. */
function migrationsDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'migrations', '0001_runbooks.sql'))) return join(dir, 'migrations');
    if (existsSync(join(dir, 'src', 'db', 'migrations'))) return join(dir, 'src', 'db', 'migrations');
    if (dirname(dir) === dir) throw new Error('migrations folder src/db/migrations not found');
  }
}

const MIGRATIONS_DIR = migrationsDir();
// Any fixed key works; it only has to be the same for every Preflight process sharing a database.
const LOCK_KEY = 0x70726566;

/** An applied migration's file changed or vanished: the schema no longer matches the code. */
export class MigrationError extends Error {}

interface Migration {
  id: number;
  name: string;
  sql: string;
  checksum: string;
}

/** The numbered `NNNN_name.sql` files in dir, in order. */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((name) => {
      const sql = readFileSync(`${dir}/${name}`, 'utf8');
      return { id: Number(name.slice(0, 4)), name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/** Applies pending migrations in one transaction under an advisory lock; returns the names applied. */
export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = readMigrations(dir);
  return db.transaction(async (tx) => {
    // Concurrent starts wait here instead of racing to create the same tables.
    await tx.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.exec(`create table if not exists schema_migrations (
      id int primary key, name text not null, checksum text not null, applied_at timestamptz not null default now())`);
    const applied = await tx.query<{ id: number; name: string; checksum: string }>('select id, name, checksum from schema_migrations order by id');
    const byId = new Map(migrations.map((m) => [m.id, m]));
    for (const a of applied) {
      const m = byId.get(a.id);
      if (!m) throw new MigrationError(`migration ${a.name} was applied but its file is gone`);
      if (m.checksum !== a.checksum) {
        throw new MigrationError(`migration ${a.name} was edited after it was applied (checksum differs); add a new migration instead`);
      }
    }
    const done = new Set(applied.map((a) => a.id));
    const names: string[] = [];
    for (const m of migrations.filter((m) => !done.has(m.id))) {
      await tx.exec(m.sql);
      await tx.query('insert into schema_migrations (id, name, checksum) values ($1, $2, $3)', [m.id, m.name, m.checksum]);
      names.push(m.name);
    }
    return names;
  });
}
