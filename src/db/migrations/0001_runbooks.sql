-- Sections of every loaded runbook, for /runbook search (full-text search, which PGlite has too).
create table runbook_sections (
  runbook_id  text not null,
  section_key text not null,
  heading     text not null,
  path        text not null,
  line        int  not null,
  body        text not null,
  tsv tsvector generated always as (
    setweight(to_tsvector('english', heading), 'A') || setweight(to_tsvector('english', body), 'B')
  ) stored,
  primary key (runbook_id, section_key)
);
create index runbook_sections_tsv on runbook_sections using gin (tsv);

-- What was indexed, so an unchanged runbook is not re-indexed at every start.
create table runbook_index (
  runbook_id text primary key,
  checksum   text not null,
  indexed_at timestamptz not null default now()
);

-- Slack retries an event it thinks we missed (x-slack-retry-num); a claimed event id is not handled twice.
create table processed_events (
  event_id    text primary key,
  received_at timestamptz not null default now()
);
