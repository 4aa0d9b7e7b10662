import type { Logger } from '../log.ts';
import { countChanges, DatabaseUnavailableError, type Db } from './db.ts';
import { createPgliteDb } from './pglite.ts';
import { createPostgresDb } from './postgres.ts';

export * from './db.ts';

/** PostgreSQL when a URL is given, else PGlite under dataDir (in memory when dataDir is undefined). */
export async function openDb(opts: { url?: string; dataDir?: string; schema?: string; log?: Logger }): Promise<Db> {
  return countChanges(opts.url ? createPostgresDb({ url: opts.url, schema: opts.schema, log: opts.log }) : await createPgliteDb(opts.dataDir));
}

/** Opens the database and fails fast with a clear message if it does not answer. */
export async function connectDb(opts: Parameters<typeof openDb>[0]): Promise<Db> {
  const db = await openDb(opts);
  try {
    await db.query('select 1');
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err instanceof DatabaseUnavailableError ? err : new DatabaseUnavailableError(err);
  }
  return db;
}
