-- A checklist made by mistake can be archived: hidden from lists and App Home, its items and history kept.
alter table checklist_instances add column archived_at timestamptz;
alter table checklist_instances add column archived_by text;

-- Archiving is recorded in the audit trail like every other change.
alter table checklist_events drop constraint checklist_events_action_check;
alter table checklist_events add constraint checklist_events_action_check
  check (action in ('create', 'tick', 'untick', 'assign', 'unassign', 'due', 'archive'));
