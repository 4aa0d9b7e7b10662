-- Readiness: one snapshot per checklist instance per day (change since yesterday, the 14-day trend), taken by
-- the daily job; and who gets the digest as a direct message.
create table readiness_snapshots (
  instance_id text not null references checklist_instances (id) on delete cascade,
  day         date not null,
  done        int not null,
  total       int not null,
  -- The weighted score in percent (equal to done/total without weights in front matter).
  score       double precision not null,
  taken_at    timestamptz not null,
  primary key (instance_id, day)
);

create table readiness_subscriptions (
  user_id       text primary key,
  subscribed_at timestamptz not null
);
