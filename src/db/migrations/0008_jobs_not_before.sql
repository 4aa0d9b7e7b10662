-- The earliest a job may run again (rate limits: a redraw's minimum interval, a 429's Retry-After), kept in
-- the row so that asking for it again from any instance cannot pull it earlier.
alter table jobs add column not_before timestamptz;
