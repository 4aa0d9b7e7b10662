import { readPart, type Db, type Queryable, type ReadPart } from '../db/db.ts';
import { cancelJobs } from '../jobs/store.ts';
import { allSteps, type Plan, type Run, type RunEvent, type StepState } from './domain.ts';

/** Job names: each run's jobs have keys starting with `<run>:` so finishing the run cancels them all. */
export const JOBS = {
  overrun: 'rollback.overrun',
  overdue: 'rollback.overdue',
  reminder: 'rollback.reminder',
  thread: 'rollback.thread',
} as const;

interface RunRow {
  id: string | number;
  runbook_id: string;
  plan: Plan | string;
  channel: string;
  ts: string | null;
  started_by: string;
  started_at: Date | string;
  reason: string | null;
  drill: boolean;
  values: Record<string, string> | string;
  state: Run['state'];
  ended_at: Date | string | null;
  ended_by: string | null;
  end_reason: string | null;
}

const RUN_COLUMNS = 'id, runbook_id, plan, channel, ts, started_by, started_at, reason, drill, "values", state, ended_at, ended_by, end_reason';
const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

function toRun(r: RunRow): Run {
  return {
    id: Number(r.id),
    runbookId: r.runbook_id,
    plan: json(r.plan),
    channel: r.channel,
    ts: r.ts ?? undefined,
    startedBy: r.started_by,
    startedAt: new Date(r.started_at),
    reason: r.reason ?? undefined,
    drill: r.drill,
    values: json(r.values) ?? {},
    state: r.state,
    endedAt: r.ended_at ? new Date(r.ended_at) : undefined,
    endedBy: r.ended_by ?? undefined,
    endReason: r.end_reason ?? undefined,
  };
}

interface StepRow {
  step_key: string;
  status: StepState['status'];
  actor: string | null;
  at: Date | string | null;
  reason: string | null;
}

const toStep = (r: StepRow): StepState => ({ key: r.step_key, status: r.status, actor: r.actor ?? undefined, at: r.at ? new Date(r.at) : undefined, reason: r.reason ?? undefined });

/** What a new run needs; `schedule` joins the same transaction (its jobs exist exactly when the run does). */
export interface NewRun {
  plan: Plan;
  channel: string;
  startedBy: string;
  reason?: string;
  drill: boolean;
  values: Record<string, string>;
}

/** Creates a run with every step pending and its start event; `schedule(tx, run)` adds its jobs in the same transaction. */
export async function createRun(db: Db, input: NewRun, now: Date, schedule: (tx: Queryable, run: Run) => Promise<void>): Promise<Run> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<RunRow>(
      `insert into rollback_runs (runbook_id, plan, channel, started_by, started_at, reason, drill, "values")
       values ($1, $2, $3, $4, $5, $6, $7, $8) returning ${RUN_COLUMNS}`,
      [input.plan.runbookId, JSON.stringify(input.plan), input.channel, input.startedBy, now, input.reason ?? null, input.drill, JSON.stringify(input.values)],
    );
    const run = toRun(rows[0]!);
    await tx.query('insert into rollback_steps (run_id, step_key) select $1, k from unnest($2::text[]) as t(k)', [run.id, allSteps(input.plan).map((s) => s.key)]);
    await tx.query(`insert into rollback_events (run_id, action, actor, reason, at) values ($1, 'start', $2, $3, $4)`, [run.id, input.startedBy, input.reason ?? null, now]);
    await schedule(tx, run);
    return run;
  });
}

/** Records where the run's message was posted (once; a second post of the same run keeps the first). */
export async function recordMessage(db: Db, runId: number, ts: string): Promise<boolean> {
  const rows = await db.query('update rollback_runs set ts = $2 where id = $1 and ts is null returning id', [runId, ts]);
  return rows.length > 0;
}

export async function getRun(q: Queryable, id: number): Promise<Run | undefined> {
  const rows = await q.query<RunRow>(`select ${RUN_COLUMNS} from rollback_runs where id = $1`, [id]);
  return rows[0] && toRun(rows[0]);
}

/** A run and its steps, in one round trip. */
export async function loadRun(q: Queryable, id: number): Promise<{ run: Run; steps: Map<string, StepState> } | undefined> {
  const rows = await q.query<RunRow & { steps: StepRow[] | string | null }>(
    `select ${RUN_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')},
       (select json_agg(json_build_object('step_key', s.step_key, 'status', s.status, 'actor', s.actor, 'at', s.at, 'reason', s.reason))
          from rollback_steps s where s.run_id = r.id) as steps
     from rollback_runs r where r.id = $1`,
    [id],
  );
  if (!rows[0]) return undefined;
  const steps = json(rows[0].steps ?? []) ?? [];
  return { run: toRun(rows[0]), steps: new Map(steps.map((s) => [s.step_key, toStep(s)])) };
}

/** Open runs, newest first, as a part of another statement (/readiness reads them with its checklists). */
export function openRunsPart(limit = 50): ReadPart<Run[]> {
  return {
    params: [limit],
    sql: (first) => `(select coalesce(json_agg(r), '[]'::json) from (select ${RUN_COLUMNS} from rollback_runs where state = 'open' order by started_at desc, id desc limit $${first}) r)`,
    // json_agg keeps the subquery's order; timestamps arrive as ISO strings, which toRun reads too.
    read: (value) => (value as RunRow[]).map(toRun),
  };
}

/** Open runs, newest first (status, App Home). */
export async function openRuns(q: Queryable, limit = 50): Promise<Run[]> {
  return readPart(q, openRunsPart(limit));
}

/** The newest run in a channel (open ones first when `openOnly`). */
export async function lastRunIn(q: Queryable, channel: string, openOnly: boolean): Promise<Run | undefined> {
  const rows = await q.query<RunRow>(
    `select ${RUN_COLUMNS} from rollback_runs where channel = $1 and ($2::boolean is false or state = 'open') order by started_at desc, id desc limit 1`,
    [channel, openOnly],
  );
  return rows[0] && toRun(rows[0]);
}

/** Pending-step counts per run (App Home, status). */
export async function progressOf(q: Queryable, ids: number[]): Promise<Map<number, { resolved: number; total: number }>> {
  const rows = await q.query<{ run_id: string | number; resolved: string | number; total: string | number }>(
    `select run_id, count(*) filter (where status <> 'pending') as resolved, count(*) as total from rollback_steps where run_id = any($1::bigint[]) group by run_id`,
    [ids],
  );
  return new Map(rows.map((r) => [Number(r.run_id), { resolved: Number(r.resolved), total: Number(r.total) }]));
}

export type StepOutcome =
  | { kind: 'recorded'; completed: boolean }
  | { kind: 'already'; step: StepState }
  | { kind: 'closed'; run: Run }
  | { kind: 'missing' };

/**
 * Done or Skip as a set operation: the step changes only while pending and the run is open, so double clicks,
 * replays and twenty people at once record it once. The run row is locked first, so the last two steps
 * resolved at once still complete the run exactly once. `after(tx)` joins the transaction (redraw marks).
 */
export async function resolveStep(
  db: Db,
  s: { runId: number; stepKey: string; status: 'done' | 'skipped'; actor: string; reason?: string },
  now: Date,
  after: (tx: Queryable) => Promise<void>,
): Promise<StepOutcome> {
  return db.transaction(async (tx) => {
    const runs = await tx.query<RunRow>(`select ${RUN_COLUMNS} from rollback_runs where id = $1 for update`, [s.runId]);
    if (!runs[0]) return { kind: 'missing' } as const;
    const run = toRun(runs[0]);
    const changed = await tx.query(
      `update rollback_steps set status = $3, actor = $4, at = $5, reason = $6
       where run_id = $1 and step_key = $2 and status = 'pending' and $7::text = 'open' returning step_key`,
      [s.runId, s.stepKey, s.status, s.actor, now, s.reason ?? null, run.state],
    );
    if (!changed.length) {
      const rows = await tx.query<StepRow>('select step_key, status, actor, at, reason from rollback_steps where run_id = $1 and step_key = $2', [s.runId, s.stepKey]);
      if (rows[0] && rows[0].status !== 'pending') return { kind: 'already', step: toStep(rows[0]) } as const;
      if (run.state !== 'open') return { kind: 'closed', run } as const;
      return { kind: 'missing' } as const;
    }
    await tx.query('insert into rollback_events (run_id, action, step_key, actor, reason, at) values ($1, $2, $3, $4, $5, $6)', [s.runId, s.status === 'done' ? 'done' : 'skip', s.stepKey, s.actor, s.reason ?? null, now]);
    const completed = await tx.query(
      `update rollback_runs set state = 'completed', ended_at = $2
       where id = $1 and state = 'open' and not exists (select 1 from rollback_steps where run_id = $1 and status = 'pending') returning id`,
      [s.runId, now],
    );
    if (completed.length) await finish(tx, s.runId, 'complete', undefined, undefined, now);
    await after(tx);
    return { kind: 'recorded', completed: completed.length > 0 } as const;
  });
}

/** Ends an open run as aborted (false when it was not open: nothing changes). */
export async function abortRun(db: Db, a: { runId: number; actor: string; reason: string }, now: Date, after: (tx: Queryable) => Promise<void>): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows = await tx.query(`update rollback_runs set state = 'aborted', ended_at = $2, ended_by = $3, end_reason = $4 where id = $1 and state = 'open' returning id`, [a.runId, now, a.actor, a.reason]);
    if (!rows.length) return false;
    await finish(tx, a.runId, 'abort', a.actor, a.reason, now);
    await after(tx);
    return true;
  });
}

/** The end of a run: its event, and its pending clock jobs cancelled (each job checks the state again anyway). */
async function finish(tx: Queryable, runId: number, action: 'complete' | 'abort', actor: string | undefined, reason: string | undefined, now: Date): Promise<void> {
  await tx.query('insert into rollback_events (run_id, action, actor, reason, at) values ($1, $2, $3, $4, $5) on conflict do nothing', [runId, action, actor ?? null, reason ?? null, now]);
  for (const name of [JOBS.overrun, JOBS.overdue]) await cancelJobs(tx, name, `${runId}:`);
}

/**
 * Records a clock event (overrun of a phase, past all budgets, a reminder) once: true only for the call that
 * recorded it, and only while `condition` holds in the database (run open, phase or step still pending).
 */
export async function recordClockEvent(db: Db, e: { runId: number; action: 'overrun' | 'overdue' | 'reminder'; subject: string; pendingKeys: string[]; requireOpen: boolean }, now: Date, after: (tx: Queryable) => Promise<void>): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows = await tx.query(
      `insert into rollback_events (run_id, action, step_key, at)
       select $1, $2, $3, $4
       where exists (select 1 from rollback_runs where id = $1 and ($5::boolean is false or state = 'open'))
         and exists (select 1 from rollback_steps where run_id = $1 and step_key = any($6::text[]) and status = 'pending')
       on conflict do nothing returning id`,
      [e.runId, e.action, e.subject, now, e.requireOpen, e.pendingKeys],
    );
    if (rows.length) await after(tx);
    return rows.length > 0;
  });
}

interface EventRow {
  id: string | number;
  action: RunEvent['action'];
  step_key: string | null;
  actor: string | null;
  reason: string | null;
  at: Date | string;
}

const toEvent = (r: EventRow): RunEvent => ({ id: Number(r.id), action: r.action, stepKey: r.step_key ?? undefined, actor: r.actor ?? undefined, reason: r.reason ?? undefined, at: new Date(r.at) });

/** Every event of a run, in order. */
export async function events(q: Queryable, runId: number): Promise<RunEvent[]> {
  return (await q.query<EventRow>('select id, action, step_key, actor, reason, at from rollback_events where run_id = $1 order by id', [runId])).map(toEvent);
}

/** Events not yet posted in the thread, in order. */
export async function unthreaded(q: Queryable, runId: number): Promise<RunEvent[]> {
  return (await q.query<EventRow>('select id, action, step_key, actor, reason, at from rollback_events where run_id = $1 and not threaded order by id', [runId])).map(toEvent);
}

/** Marks an event as posted in the thread. */
export async function markThreaded(q: Queryable, eventId: number): Promise<void> {
  await q.query('update rollback_events set threaded = true where id = $1', [eventId]);
}

/** The message is gone: stop redrawing it. */
export async function forgetMessage(q: Queryable, channel: string, ts: string): Promise<void> {
  await q.query('update rollback_runs set ts = null where channel = $1 and ts = $2', [channel, ts]);
}
