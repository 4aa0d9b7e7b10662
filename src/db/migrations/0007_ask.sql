-- /runbook ask: a second full-text vector over sections, weighted for questions (issue 10). The runbook's id
-- stands in for its title and folder; camelCase alert names (etcdNoLeader) are split into words. "down" is an
-- English stop word, yet alert names live on it (CephOSDDown): in headings and ids it is indexed as "offline".
alter table runbook_sections add column ask_tsv tsvector generated always as (
  setweight(to_tsvector('english', regexp_replace(regexp_replace(regexp_replace(heading, '([a-z0-9])([A-Z])', '\1 \2', 'g'), '([A-Z])([A-Z][a-z])', '\1 \2', 'g'), '\mdown\M', 'offline', 'gi')), 'A') ||
  setweight(to_tsvector('english', regexp_replace(regexp_replace(replace(path, ' › ', ' '), '([a-z0-9])([A-Z])', '\1 \2', 'g'), '([A-Z])([A-Z][a-z])', '\1 \2', 'g')), 'B') ||
  setweight(to_tsvector('english', regexp_replace(regexp_replace(regexp_replace(translate(runbook_id, '/_-', '   '), '([a-z0-9])([A-Z])', '\1 \2', 'g'), '([A-Z])([A-Z][a-z])', '\1 \2', 'g'), '\mdown\M', 'offline', 'gi')), 'B') ||
  setweight(to_tsvector('english', body), 'D')
) stored;
create index runbook_sections_ask_tsv on runbook_sections using gin (ask_tsv);

-- pg_trgm (a contrib extension PGlite ships too) scores headings by trigram similarity to the question. It is
-- database-wide, so it goes in public where every schema's connection can name it; where it cannot be
-- installed, ask ranks without it.
do $$
begin
  create extension if not exists pg_trgm with schema public;
exception when others then
  raise notice 'pg_trgm not installed (%): /runbook ask ranks without trigram similarity', sqlerrm;
end
$$;
