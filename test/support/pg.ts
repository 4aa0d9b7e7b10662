import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDb, type Db } from '../../src/db/index.ts';

/** Runs fn with a one-off client on the server at url (admin statements: create/drop schema or database). */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * A new, empty schema on the server at url. `url` in the result selects it through the connection's
 * search_path, for child processes (the CLI, `npm start`) that only take DATABASE_URL.
 */
export async function createSchema(serverUrl: string, prefix = 't'): Promise<{ schema: string; url: string; drop(): Promise<void> }> {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl, (c) => c.query(`create schema ${schema}`));
  const url = new URL(serverUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    schema,
    url: url.toString(),
    drop: () => withClient(serverUrl, (c) => c.query(`drop schema if exists ${schema} cascade`)).then(() => undefined),
  };
}

/** A fresh schema opened as a Db (tests and the bench); drop() closes the pool and removes the schema. */
export async function freshSchema(serverUrl: string, prefix = 't'): Promise<{ db: Db; schema: string; drop(): Promise<void> }> {
  const created = await createSchema(serverUrl, prefix);
  const db = await openDb({ url: serverUrl, schema: created.schema });
  return {
    db,
    schema: created.schema,
    async drop() {
      await db.close();
      await created.drop();
    },
  };
}
