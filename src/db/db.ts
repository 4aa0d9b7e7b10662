/** A row as both drivers return it. */
export type Row = Record<string, unknown>;

/** What store functions need: parameterised queries, and multi-statement scripts for migrations. */
export interface Queryable {
  query<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  exec(sql: string): Promise<void>;
}

/**
 * A data-modifying statement to run inside another one, as a `with` part, so two changes share one round trip
 * and one commit. Its parameters are numbered from `first`, after the host statement's own.
 */
export interface SqlPart {
  sql(first: number): string;
  params: unknown[];
}

/**
 * A read to run inside another statement as a scalar subquery whose value is json, so two capabilities' reads
 * share one round trip; `read` turns that value into data. Parameters are numbered from `first`, as SqlPart's.
 */
export interface ReadPart<T> extends SqlPart {
  read(value: unknown): T;
}

/** A ReadPart run on its own. */
export async function readPart<T>(q: Queryable, part: ReadPart<T>): Promise<T> {
  return part.read((await q.query<{ value: unknown }>(`select ${part.sql(1)} as value`, part.params))[0]?.value);
}

/** A database driver: PostgreSQL through `pg`, or embedded PGlite. */
export interface Driver extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn in one transaction; retried on serialization failures and deadlocks. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** True when the database answers within the timeout. */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The database Preflight runs on: a driver that counts the writes this process makes through it. */
export interface Db extends Driver {
  /**
   * Writes this process has finished through this Db, failed ones too: every transaction, script and statement
   * but a plain `select`. A read made after the count last moved sees every write this process has answered for.
   */
  readonly changes: number;
}

/** A statement that writes nothing: a plain select (a data-modifying `with` starts with `with`). */
const PLAIN_READ = /^\s*select\b/i;

/** The driver with its writes counted (Db.changes), when they end: one that ends later may be unseen by a read. */
export function countChanges(driver: Driver): Db {
  let changes = 0;
  const counted = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } finally {
      changes++;
    }
  };
  return {
    ...driver,
    get changes() {
      return changes;
    },
    query: (sql, params) => (PLAIN_READ.test(sql) ? driver.query(sql, params) : counted(driver.query(sql, params))),
    exec: (sql) => counted(driver.exec(sql)),
    transaction: (fn) => counted(driver.transaction(fn)),
  };
}

/**
 * Answers a read again without the database while this process has written nothing (Db.changes) and for at most
 * maxAgeMs, the bound on how late a write by another process on the same PostgreSQL is seen. Asks for one key
 * while its read runs share that read; a failed read is not kept. The oldest keys go beyond maxKeys.
 */
export class ReadCache<T> {
  private readonly entries = new Map<string, { changes: number; at: number; value: Promise<T> }>();
  /** Reads run so far (the rest were answered from the cache). */
  reads = 0;

  constructor(
    private readonly db: Pick<Db, 'changes'>,
    private readonly opts: { maxAgeMs: number; maxKeys: number },
  ) {}

  get(key: string, read: () => Promise<T>): Promise<T> {
    const now = performance.now();
    const hit = this.entries.get(key);
    if (hit && hit.changes === this.db.changes && now - hit.at < this.opts.maxAgeMs) return hit.value;
    // Counted from before the read: a write that ends after this point may be unseen, and moves the count.
    const entry = { changes: this.db.changes, at: now, value: read() };
    this.reads++;
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.opts.maxKeys) this.entries.delete(this.entries.keys().next().value!);
    entry.value.catch(() => this.entries.get(key) === entry && this.entries.delete(key));
    return entry.value;
  }
}

/** The database cannot be reached; the request changed nothing and can be retried. */
export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`database unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

// SQLSTATE classes 08 (connection), 57P (shutdown) and 53 (resources) mean "not now", not "bad request".
const UNAVAILABLE_CODES = /^(08|57P|53)/;
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/** True when err means the database is down or unreachable rather than the query being wrong. */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_CODES.test(code) || UNAVAILABLE_ERRNO.has(code))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|connection timeout|Client has encountered a connection error/i.test(err.message);
}

/** Retryable conflicts between concurrent transactions. */
export function isConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === '40001' || code === '40P01';
}

/** Resolves with p, or rejects with DatabaseUnavailableError after ms. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
