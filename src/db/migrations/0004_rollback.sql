-- Tracked rollbacks (src/rollback): a run keeps the plan as it was at its start, so a later edit of the
-- runbook cannot change a run in flight or its timeline.
create table rollback_runs (
  id          bigserial primary key,
  runbook_id  text not null,
  plan        jsonb not null,
  channel     text not null,
  ts          text,
  started_by  text not null,
  started_at  timestamptz not null,
  reason      text,
  drill       boolean not null default false,
  "values"    jsonb not null default '{}',
  state       text not null default 'open' check (state in ('open', 'completed', 'aborted')),
  ended_at    timestamptz,
  ended_by    text,
  end_reason  text
);
create index rollback_runs_open on rollback_runs (channel, started_at) where state = 'open';

-- Every step's state, materialised at the start: Done and Skip are conditional updates of a pending row.
create table rollback_steps (
  run_id    bigint not null references rollback_runs (id) on delete cascade,
  step_key  text not null,
  status    text not null default 'pending' check (status in ('pending', 'done', 'skipped')),
  actor     text,
  at        timestamptz,
  reason    text,
  primary key (run_id, step_key)
);

-- What happened, in order: the thread and the timeline are drawn from here. A warning or reminder is one
-- row per (run, action, subject), so a retried or concurrent job cannot record it twice.
create table rollback_events (
  id        bigserial primary key,
  run_id    bigint not null references rollback_runs (id) on delete cascade,
  action    text not null check (action in ('start', 'done', 'skip', 'abort', 'complete', 'overrun', 'overdue', 'reminder')),
  step_key  text,
  actor     text,
  reason    text,
  at        timestamptz not null,
  -- Posted in the run's thread (by the rollback.thread job).
  threaded  boolean not null default false
);
create index rollback_events_run on rollback_events (run_id, id);
create unique index rollback_events_once on rollback_events (run_id, action, coalesce(step_key, '')) where action in ('overrun', 'overdue', 'reminder', 'complete', 'abort', 'start');
