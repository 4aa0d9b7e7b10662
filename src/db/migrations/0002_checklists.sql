-- A checklist instance: the default one per runbook (id = runbook id) or one per release or launch.
create table checklist_instances (
  id          text primary key,
  runbook_id  text not null,
  name        text not null,
  launch_date date,
  created_by  text not null,
  created_at  timestamptz not null default now()
);

-- Every item's state, materialised when the instance is created (items [x] in the file start ticked,
-- by 'runbook'), so a tick is one conditional update: a set operation, never a toggle.
create table checklist_items (
  instance_id text not null references checklist_instances (id) on delete cascade,
  item_key    text not null,
  checked     boolean not null,
  checked_by  text,
  checked_at  timestamptz,
  owner       text,
  due_at      timestamptz,
  due_text    text,
  primary key (instance_id, item_key)
);

-- The audit trail: every tick, untick, assignment and due date, with who, when and from where.
create table checklist_events (
  id          bigserial primary key,
  instance_id text not null references checklist_instances (id) on delete cascade,
  item_key    text,
  action      text not null check (action in ('create', 'tick', 'untick', 'assign', 'unassign', 'due')),
  actor       text not null,
  source      text not null,
  detail      text,
  at          timestamptz not null default now()
);
create index checklist_events_instance on checklist_events (instance_id, at);

-- Every posted message showing an instance (or one section of it), to update them all after a change.
create table checklist_messages (
  channel     text not null,
  ts          text not null,
  instance_id text not null references checklist_instances (id) on delete cascade,
  section_key text,
  page        int  not null default 0,
  posted_at   timestamptz not null default now(),
  primary key (channel, ts)
);
create index checklist_messages_instance on checklist_messages (instance_id);
