-- On-call overrides: whoever covers [starts_at, ends_at) of a rotation instead of its member; the latest made
-- wins where two overlap. Unique per window and person, so a retried command stores one row.
create table oncall_overrides (
  id          bigserial primary key,
  rotation_id text not null,
  user_id     text not null,
  starts_at   timestamptz not null,
  ends_at     timestamptz not null check (ends_at > starts_at),
  created_by  text not null,
  created_at  timestamptz not null default now(),
  swap_id     bigint,
  unique (rotation_id, user_id, starts_at, ends_at)
);
create index oncall_overrides_window on oncall_overrides (rotation_id, ends_at);

-- Swap requests: the requester's shift offered to target, who accepts or declines with a button (once).
create table oncall_swaps (
  id          bigserial primary key,
  rotation_id text not null,
  requester   text not null,
  target      text not null,
  shift_start timestamptz not null,
  shift_end   timestamptz not null,
  state       text not null default 'pending' check (state in ('pending', 'accepted', 'declined')),
  created_at  timestamptz not null default now(),
  decided_at  timestamptz
);
create unique index oncall_swaps_open on oncall_swaps (rotation_id, requester, target, shift_start) where state = 'pending';

-- The secret in each rotation's calendar URL, made on first use.
create table oncall_calendar_tokens (
  rotation_id text primary key,
  token       text not null
);
