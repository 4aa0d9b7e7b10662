import { mkdirSync } from 'node:fs';
import type { Db, Queryable } from './db.ts';

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

/** Embedded PostgreSQL (PGlite) stored under dataDir, or in memory when dataDir is undefined. */
export async function createPgliteDb(dataDir?: string): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // Loaded only when used: PostgreSQL deployments never pay the memory for the embedded database's code.
  const { PGlite } = await import('@electric-sql/pglite');
  // pg_trgm ranks /runbook ask's headings (migration 0007); PGlite only installs extensions it was given.
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  const pg = await PGlite.create(dataDir, { extensions: { pg_trgm } });
  return {
    kind: 'pglite',
    ...queryable(pg),
    // PGlite is one connection: its transaction() holds an exclusive lock, so transactions never interleave.
    transaction: (fn) => pg.transaction((tx) => fn(queryable(tx))),
    async ping() {
      return !pg.closed;
    },
    close: () => pg.close(),
  };
}
