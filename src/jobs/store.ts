import type { Queryable, SqlPart } from '../db/db.ts';

/** A unit of scheduled work as stored. */
export interface Job<P = Record<string, unknown>> {
  id: number;
  name: string;
  key: string;
  runAt: Date;
  payload: P;
  state: 'pending' | 'running' | 'done' | 'failed' | 'cancelled';
  attempts: number;
  lastError?: string;
  /** Wall-clock time before which it may not run (rate limits, Retry-After, failure backoff). */
  notBefore?: Date;
}

interface JobRow {
  id: string | number;
  name: string;
  key: string;
  run_at: Date | string;
  payload: Record<string, unknown>;
  state: Job['state'];
  attempts: number;
  last_error: string | null;
  not_before?: Date | string | null;
}

const toJob = (r: JobRow): Job => ({
  id: Number(r.id),
  name: r.name,
  key: r.key,
  runAt: new Date(r.run_at),
  payload: r.payload ?? {},
  state: r.state,
  attempts: r.attempts,
  lastError: r.last_error ?? undefined,
  notBefore: r.not_before ? new Date(r.not_before) : undefined,
});

export interface NewJob {
  name: string;
  key: string;
  runAt: Date;
  payload?: Record<string, unknown>;
  /** Wall-clock time before which it may not run (a burst of changes coalescing into one redraw). */
  notBefore?: Date;
}

/**
 * Inserts the job unless (name, key) exists: scheduling is idempotent. Returns true when this call created it.
 * With `rearm`, an existing job is asked to run again: a pending one keeps the earlier run time, a running one
 * runs once more when it finishes, a finished one becomes pending at `runAt` (redraws that must converge);
 * never before the row's `not_before` (the last run's interval or a 429's Retry-After), which only grows.
 *
 * Two clocks: `run_at` is the scheduler's clock (injectable: when the work is meant for, like a phase's budget),
 * `not_before` is the wall clock (technical waits: Slack's rate limits, backoff), so a test that freezes the
 * first still sees redraws and retries happen.
 */
export async function insertJob(q: Queryable, job: NewJob, opts: { rearm?: boolean } = {}): Promise<boolean> {
  if (!opts.rearm) {
    const rows = await q.query('insert into jobs (name, key, run_at, payload, not_before) values ($1, $2, $3, $4, $5) on conflict (name, key) do nothing returning id', [job.name, job.key, job.runAt, JSON.stringify(job.payload ?? {}), job.notBefore ?? null]);
    return rows.length > 0;
  }
  const part = rearmPart(job);
  const rows = await q.query<{ inserted: boolean }>(`${part.sql(1)} returning (xmax = 0) as inserted`, part.params);
  return Boolean(rows[0]?.inserted);
}

/** insertJob's `rearm` as a part of another statement (a change and the redraw it asks for, in one commit). */
export function rearmPart(job: NewJob): SqlPart {
  return {
    params: [job.name, job.key, job.runAt, JSON.stringify(job.payload ?? {}), job.notBefore ?? null],
    sql: (first) => {
      const [name, key, runAt, payload, notBefore] = [0, 1, 2, 3, 4].map((i) => `$${first + i}`);
      // Already asked for (pending no later with nothing to reset, or running with its rerun due): writing the row
      // again would change nothing, and its row lock would queue every concurrent click behind each one's commit.
      // A share lock is enough: the claim and the completion update the row, so they wait for this statement's
      // commit and see its change. SKIP LOCKED: a row being updated is upserted instead (waiting for a share lock
      // there and then upgrading it could deadlock two clicks).
      return `insert into jobs (name, key, run_at, payload, not_before)
     select ${name}::text, ${key}::text, ${runAt}::timestamptz, ${payload}::jsonb, ${notBefore}::timestamptz
      where not exists (
        select from jobs
         where name = ${name}::text and key = ${key}::text and payload = ${payload}::jsonb
           and ((state = 'pending' and not rerun and attempts = 0 and run_at <= ${runAt}::timestamptz and (not_before is not null or ${notBefore}::timestamptz is null))
                or (state = 'running' and rerun))
           for share skip locked)
     on conflict (name, key) do update set
       payload  = excluded.payload,
       rerun    = jobs.state = 'running',
       run_at   = case when jobs.state = 'pending' then least(jobs.run_at, excluded.run_at)
                       when jobs.state = 'running' then jobs.run_at
                       else excluded.run_at end,
       -- A pending job keeps its wait (a burst of changes must not push it back for ever); a finished one waits
       -- for both its minimum interval and the new coalescing delay.
       not_before = case when jobs.state = 'pending' then coalesce(jobs.not_before, excluded.not_before)
                         when jobs.state = 'running' then jobs.not_before
                         else greatest(jobs.not_before, excluded.not_before) end,
       state    = case when jobs.state = 'running' then 'running' else 'pending' end,
       attempts = case when jobs.state = 'running' then jobs.attempts else 0 end`;
    },
  };
}

/** Cancels pending jobs of a name whose key starts with prefix (e.g. every warning of a finished run). */
export async function cancelJobs(q: Queryable, name: string, keyPrefix: string): Promise<number> {
  const rows = await q.query("update jobs set state = 'cancelled' where name = $1 and key like $2 and state = 'pending' returning id", [name, `${escapeLike(keyPrefix)}%`]);
  return rows.length;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Claims up to `limit` due jobs for `worker`: pending ones whose time has come, and running ones whose lease
 * ran out (their worker died). `for update skip locked` lets every instance poll at once without two
 * claiming the same row (pg-boss, graphile-worker).
 */
export async function claimDue(q: Queryable, opts: { worker: string; now: Date; wall: Date; leaseMs: number; limit: number; names: string[] }): Promise<Job[]> {
  if (!opts.names.length) return [];
  const rows = await q.query<JobRow>(
    `update jobs set state = 'running', locked_by = $1, locked_until = $2::timestamptz + ($3 || ' milliseconds')::interval, attempts = attempts + 1, rerun = false
     where id in (
       select id from jobs
       where name = any($5::text[])
         and ((state = 'pending' and run_at <= $2 and (not_before is null or not_before <= $6)) or (state = 'running' and locked_until < $2))
       order by run_at
       limit $4
       for update skip locked)
     returning id, name, key, run_at, payload, state, attempts, last_error, not_before`,
    [opts.worker, opts.now, String(opts.leaseMs), opts.limit, opts.names, opts.wall],
  );
  return rows.map(toJob);
}

/**
 * Marks a claimed job done, or pending again (due at once on the scheduler's clock) when it was asked for
 * again while it ran; either way it may not run again before the wall-clock `notBefore` (its minimum interval).
 */
export async function completeJob(q: Queryable, opts: { id: number; worker: string; now: Date; notBefore: Date }): Promise<void> {
  await q.query(
    `update jobs set state = case when rerun then 'pending' else 'done' end,
       run_at = case when rerun then $3 else run_at end,
       attempts = case when rerun then 0 else attempts end,
       rerun = false, done_at = $3, not_before = $4, locked_by = null, locked_until = null, last_error = null
     where id = $1 and locked_by = $2`,
    [opts.id, opts.worker, opts.now, opts.notBefore],
  );
}

/**
 * Gives a job back after a failure: pending again, not before the wall-clock `retryAfter`, or failed for good
 * when it is undefined. With `backOff` (Slack said "not now": a 429), the attempt does not count.
 */
export async function failJob(q: Queryable, opts: { id: number; worker: string; error: string; retryAfter?: Date; backOff?: boolean }): Promise<void> {
  await q.query(
    `update jobs set state = case when $4::timestamptz is null then 'failed' else 'pending' end,
       not_before = coalesce($4::timestamptz, not_before), last_error = $3, locked_by = null, locked_until = null,
       attempts = case when $5 then greatest(attempts - 1, 0) else attempts end
     where id = $1 and locked_by = $2`,
    [opts.id, opts.worker, opts.error.slice(0, 500), opts.retryAfter ?? null, opts.backOff ?? false],
  );
}

/** Extends the lease of jobs this worker is still running (a slow Slack must not let another instance take them). */
export async function extendLeases(q: Queryable, opts: { worker: string; ids: number[]; until: Date }): Promise<void> {
  if (!opts.ids.length) return;
  await q.query("update jobs set locked_until = $3 where locked_by = $1 and state = 'running' and id = any($2::bigint[])", [opts.worker, opts.ids, opts.until]);
}

/** Gives back what this worker holds (graceful shutdown), so another instance takes it at once. */
export async function releaseWorker(q: Queryable, worker: string): Promise<void> {
  await q.query("update jobs set state = 'pending', locked_by = null, locked_until = null, attempts = greatest(attempts - 1, 0) where locked_by = $1 and state = 'running'", [worker]);
}

/** Jobs for `preflight jobs list` and tests, newest first. */
export async function listJobs(q: Queryable, opts: { name?: string; states?: Job['state'][]; limit?: number } = {}): Promise<Job[]> {
  const rows = await q.query<JobRow>(
    `select id, name, key, run_at, payload, state, attempts, last_error, not_before from jobs
     where ($1::text is null or name = $1) and ($2::text[] is null or state = any($2::text[]))
     order by run_at desc, id desc limit $3`,
    [opts.name ?? null, opts.states ?? null, opts.limit ?? 100],
  );
  return rows.map(toJob);
}

/** One job by name and key. */
export async function getJob(q: Queryable, name: string, key: string): Promise<Job | undefined> {
  const rows = await q.query<JobRow>('select id, name, key, run_at, payload, state, attempts, last_error, not_before from jobs where name = $1 and key = $2', [name, key]);
  return rows[0] && toJob(rows[0]);
}

/** Makes a job due now (`preflight jobs run`): pending at `now`, whatever it was; a running instance takes it. */
export async function makeDue(q: Queryable, name: string, key: string, now: Date): Promise<boolean> {
  const rows = await q.query("update jobs set state = 'pending', run_at = $3, attempts = 0, locked_by = null, locked_until = null where name = $1 and key = $2 and state <> 'running' returning id", [name, key, now]);
  return rows.length > 0;
}
