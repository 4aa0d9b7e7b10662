-- The one scheduler: due work stored here, claimed by one instance before it acts (jobs/scheduler.ts).
-- (name, key) is unique, so scheduling the same work twice — from two instances, a retry or a restart — is one row.
create table jobs (
  id           bigserial primary key,
  name         text not null,
  key          text not null,
  run_at       timestamptz not null,
  payload      jsonb not null default '{}',
  state        text not null default 'pending' check (state in ('pending', 'running', 'done', 'failed', 'cancelled')),
  -- Asked for again while running (a redraw after a newer change): run once more after this run.
  rerun        boolean not null default false,
  attempts     int not null default 0,
  locked_by    text,
  locked_until timestamptz,
  last_error   text,
  created_at   timestamptz not null default now(),
  done_at      timestamptz,
  unique (name, key)
);
create index jobs_due on jobs (run_at) where state in ('pending', 'running');
