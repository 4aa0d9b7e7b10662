import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { Driver, Queryable } from './db.ts';
import { lockDataDir } from './lock.ts';

interface PGliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<unknown>;
}

function queryable(q: PGliteLike): Queryable {
  return {
    async query<T>(sql: string, params: unknown[] = []) {
      return (await q.query<T>(sql, params)).rows;
    },
    async exec(sql: string) {
      await q.exec(sql);
    },
  };
}

// ── Memory (issue 11 point 12) ──
// PostgreSQL's defaults (shared_buffers 128MB, …) are sized for a server; in PGlite they live in a WebAssembly
// heap that grows and never shrinks. Preflight's data is a few MB, so small buffers cost nothing measurable.
const MEMORY_SETTINGS = ['shared_buffers=2MB', 'work_mem=1MB', 'maintenance_work_mem=4MB', 'temp_buffers=1MB', 'wal_buffers=256kB', 'max_connections=4'];

/** PGlite's own start parameters plus the memory settings above. */
function startParams(defaults: readonly string[]): string[] {
  return [...defaults, ...MEMORY_SETTINGS.flatMap((setting) => ['-c', setting])];
}

/**
 * Creates a new data directory in a short-lived child process: initdb grows the WebAssembly heap to ~700 MB,
 * which would otherwise stay in the serving process for its whole life.
 */
async function initDataDir(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const script = 'const { PGlite } = await import(process.argv[1]); const pg = await PGlite.create(process.argv[2]); await pg.close();';
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, import.meta.resolve('@electric-sql/pglite'), dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  if (code !== 0) throw new Error(`could not create the embedded database in ${dataDir}: ${stderr.trim().split('\n').pop() || `exit ${code}`}`);
}

/** Embedded PostgreSQL (PGlite) stored under dataDir, or in memory when dataDir is undefined. */
export async function createPgliteDb(dataDir?: string): Promise<Driver> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // One process per data directory: a second one would silently lose writes (issue 6).
  const unlock = dataDir ? lockDataDir(dataDir) : () => undefined;
  let pg;
  try {
    // V8 recompiles PostgreSQL's hot WebAssembly functions with its optimising compiler, in the background:
    // ~50 MB of RSS that stays (code and the compiler's freed but kept memory) for no speed a small database
    // notices (measured: opening, migrating, 1000 inserts and 300 searches take as long or less without it).
    // Set before the module is compiled; only PGlite's WebAssembly is compiled after this.
    setFlagsFromString('--liftoff-only');
    // Loaded only when used: PostgreSQL deployments never pay the memory for the embedded database's code.
    const { PGlite } = await import('@electric-sql/pglite');
    if (dataDir) await initDataDir(dataDir);
    // pg_trgm ranks /runbook ask's headings (migration 0007); PGlite only installs extensions it was given.
    const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
    pg = await PGlite.create(dataDir, { startParams: startParams(PGlite.defaultStartParams), extensions: { pg_trgm } });
  } catch (err) {
    unlock();
    throw err;
  }
  return {
    kind: 'pglite',
    ...queryable(pg),
    // PGlite is one connection: its transaction() holds an exclusive lock, so transactions never interleave.
    transaction: (fn) => pg.transaction((tx) => fn(queryable(tx))),
    async ping() {
      return !pg.closed;
    },
    async close() {
      try {
        await pg.close();
      } finally {
        unlock();
      }
    },
  };
}
