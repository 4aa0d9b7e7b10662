import pg from 'pg';
import type { Logger } from '../log.ts';
import { DatabaseUnavailableError, isConflict, isUnavailable, withTimeout, type Driver, type Queryable } from './db.ts';

export interface PostgresOptions {
  url: string;
  /** Schema to use as search_path; tests get a fresh one each. */
  schema?: string;
  max?: number;
  log?: Logger;
}

const CONNECT_TIMEOUT_MS = 1500;
const QUERY_TIMEOUT_MS = 2500;

function wrap(err: unknown): unknown {
  return isUnavailable(err) && !(err instanceof DatabaseUnavailableError) ? new DatabaseUnavailableError(err) : err;
}

/**
 * Statement names by SQL text. A named statement is parsed once per connection and then only bound and run,
 * so PostgreSQL does not parse and plan it again on every click. Bounded, although Preflight's SQL is fixed text
 * with parameters. (Behind PgBouncer this needs session pooling, or transaction pooling with PgBouncer 1.21+
 * and max_prepared_statements set.)
 */
const statementNames = new Map<string, string>();
const MAX_NAMED_STATEMENTS = 1000;

function statementName(sql: string): string | undefined {
  let name = statementNames.get(sql);
  if (!name && statementNames.size < MAX_NAMED_STATEMENTS) statementNames.set(sql, (name = `preflight_${statementNames.size + 1}`));
  return name;
}

/** Attempts of a statement run on its own (autocommit) that lost a deadlock or a serialization check. */
const STATEMENT_ATTEMPTS = 3;

function queryable(client: pg.Pool | pg.PoolClient): Queryable {
  // A statement run on its own that PostgreSQL aborted as a deadlock victim changed nothing: it can run again.
  // Inside a transaction the whole transaction is retried instead (Db.transaction).
  const attempts = client instanceof pg.Pool ? STATEMENT_ATTEMPTS : 1;
  return {
    async query<T>(sql: string, params: unknown[] = []) {
      const name = params.length ? statementName(sql) : undefined;
      for (let attempt = 1; ; attempt++) {
        try {
          return (await (name ? client.query({ name, text: sql, values: params }) : client.query(sql, params))).rows as T[];
        } catch (err) {
          if (isConflict(err) && attempt < attempts) continue;
          throw wrap(err);
        }
      }
    },
    async exec(sql: string) {
      try {
        await client.query(sql);
      } catch (err) {
        throw wrap(err);
      }
    },
  };
}

/** A pg Pool behind the Driver interface; connection failures become DatabaseUnavailableError quickly. */
export function createPostgresDb(opts: PostgresOptions): Driver {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    keepAlive: true,
    ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  // An idle client losing its connection (database restart) must not crash the process; the pool replaces it.
  pool.on('error', (err) => opts.log?.warn({ err: err.message }, 'idle database connection lost'));
  const base = queryable(pool);

  return {
    kind: 'postgres',
    ...base,
    async transaction(fn) {
      for (let attempt = 1; ; attempt++) {
        let client: pg.PoolClient;
        try {
          client = await pool.connect();
        } catch (err) {
          throw wrap(err);
        }
        let broken = false;
        try {
          await client.query('begin');
          const result = await fn(queryable(client));
          await client.query('commit');
          return result;
        } catch (err) {
          broken = isUnavailable(err);
          if (!broken) await client.query('rollback').catch(() => (broken = true));
          if (isConflict(err) && attempt < 5) continue;
          throw wrap(err);
        } finally {
          client.release(broken);
        }
      }
    },
    async ping(timeoutMs = 1000) {
      try {
        await withTimeout(pool.query('select 1'), timeoutMs);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await pool.end();
    },
  };
}
