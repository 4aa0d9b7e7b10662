import type { Db, Queryable, SqlPart } from '../db/db.ts';
import type { Runbook } from '../runbooks/model.ts';
import { RUNBOOK_ACTOR, type Instance, type ItemState } from './domain.ts';

export interface InstanceRow {
  id: string;
  runbook_id: string;
  name: string;
  launch_date: string | Date | null;
  created_by: string;
  created_at: Date;
  archived_at: Date | null;
  archived_by: string | null;
}

export interface ItemRow {
  item_key: string;
  checked: boolean;
  checked_by: string | null;
  checked_at: Date | null;
  owner: string | null;
  due_at: Date | null;
  due_text: string | null;
}

export const INSTANCE_COLUMNS = 'id, runbook_id, name, launch_date::text as launch_date, created_by, created_at, archived_at, archived_by';

export function toInstance(r: InstanceRow): Instance {
  return {
    id: r.id,
    runbookId: r.runbook_id,
    name: r.name,
    launchDate: r.launch_date ? String(r.launch_date).slice(0, 10) : undefined,
    createdBy: r.created_by,
    createdAt: new Date(r.created_at),
    ...(r.archived_at ? { archivedAt: new Date(r.archived_at), archivedBy: r.archived_by ?? undefined } : {}),
  };
}

export function toState(r: ItemRow): ItemState {
  return {
    key: r.item_key,
    checked: r.checked,
    checkedBy: r.checked_by ?? undefined,
    checkedAt: r.checked_at ? new Date(r.checked_at) : undefined,
    owner: r.owner ?? undefined,
    dueAt: r.due_at ? new Date(r.due_at) : undefined,
    dueText: r.due_text ?? undefined,
  };
}

/** Adds rows for the runbook's items the instance does not have yet (new lines in the file); existing state is kept. */
async function syncItems(tx: Queryable, instanceId: string, runbook: Runbook, now: Date): Promise<void> {
  if (!runbook.tasks.length) return;
  await tx.query(
    `insert into checklist_items (instance_id, item_key, checked, checked_by, checked_at)
     select $1, k, c, case when c then $4 end, case when c then $5::timestamptz end
       from unnest($2::text[], $3::boolean[]) as t(k, c)
     on conflict (instance_id, item_key) do nothing`,
    [instanceId, runbook.tasks.map((t) => t.key), runbook.tasks.map((t) => t.checked), RUNBOOK_ACTOR, now],
  );
}

/** Creates an instance with every item's state, in one transaction; false when the id is taken. */
export async function createInstance(db: Db, runbook: Runbook, inst: { id: string; name: string; launchDate?: string; actor: string; source: string }, now: Date): Promise<boolean> {
  return db.transaction(async (tx) => {
    const created = await tx.query(
      `insert into checklist_instances (id, runbook_id, name, launch_date, created_by, created_at)
       values ($1, $2, $3, $4::date, $5, $6) on conflict (id) do nothing returning id`,
      [inst.id, runbook.id, inst.name, inst.launchDate ?? null, inst.actor, now],
    );
    if (!created.length) return false;
    await syncItems(tx, inst.id, runbook, now);
    await tx.query(`insert into checklist_events (instance_id, action, actor, source, detail, at) values ($1, 'create', $2, $3, $4, $5)`, [inst.id, inst.actor, inst.source, inst.name, now]);
    return true;
  });
}

/** The runbook's default instance (id = runbook id), created on first use; concurrent first uses create it once. */
export async function ensureDefaultInstance(db: Db, runbook: Runbook, now: Date): Promise<void> {
  await createInstance(db, runbook, { id: runbook.id, name: runbook.title, actor: RUNBOOK_ACTOR, source: 'default' }, now);
}

export async function getInstance(db: Db, id: string): Promise<Instance | undefined> {
  const rows = await db.query<InstanceRow>(`select ${INSTANCE_COLUMNS} from checklist_instances where id = $1`, [id]);
  return rows[0] ? toInstance(rows[0]) : undefined;
}

/** Every checklist not archived (or every one, archived too, with `archived`). */
export async function listInstances(db: Db, opts: { archived?: boolean } = {}): Promise<Instance[]> {
  return (await db.query<InstanceRow>(`select ${INSTANCE_COLUMNS} from checklist_instances where $1 or archived_at is null order by created_at, id`, [opts.archived ?? false])).map(toInstance);
}

/** Archives a checklist once (a set operation: a second archive changes nothing), recorded in its history. */
export async function archiveInstance(db: Db, a: { id: string; actor: string; source: string }, now: Date): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows = await tx.query(`update checklist_instances set archived_at = $2, archived_by = $3 where id = $1 and archived_at is null returning id`, [a.id, now, a.actor]);
    if (!rows.length) return false;
    await tx.query(`insert into checklist_events (instance_id, action, actor, source, at) values ($1, 'archive', $2, $3, $4)`, [a.id, a.actor, a.source, now]);
    return true;
  });
}

/** Brings an instance's rows up to date with its runbook: items added to the file get their state rows. */
export async function syncInstance(db: Db, instanceId: string, runbook: Runbook, now: Date): Promise<void> {
  await syncItems(db, instanceId, runbook, now);
}

/** Every item's state for an instance (items the rows do not have yet read as the file says). */
export async function loadState(db: Db, instanceId: string): Promise<Map<string, ItemState>> {
  const rows = await db.query<ItemRow>('select item_key, checked, checked_by, checked_at, owner, due_at, due_text from checklist_items where instance_id = $1', [instanceId]);
  return new Map(rows.map((r) => [r.item_key, toState(r)]));
}

/** Item states of many instances in one query (App Home, the list). */
export async function loadStates(db: Db, instanceIds: string[]): Promise<Map<string, Map<string, ItemState>>> {
  const rows = await db.query<ItemRow & { instance_id: string }>(
    'select instance_id, item_key, checked, checked_by, checked_at, owner, due_at, due_text from checklist_items where instance_id = any($1::text[])',
    [instanceIds],
  );
  const out = new Map<string, Map<string, ItemState>>();
  for (const r of rows) {
    if (!out.has(r.instance_id)) out.set(r.instance_id, new Map());
    out.get(r.instance_id)!.set(r.item_key, toState(r));
  }
  return out;
}

export interface ChangeResult {
  ticked: string[];
  unticked: string[];
  /** Unticks refused by `lock: owner`, with who ticked them. */
  refused: Array<{ key: string; by: string }>;
  /** The checklist is archived: nothing was changed (a click on a message posted before it was archived). */
  archived: boolean;
}

/**
 * Ticks and unticks as set operations in one statement (atomic without begin/commit, one round trip): each is a
 * conditional update that changes only items not already in that state, so replays, double clicks and stale
 * views change nothing more, and concurrent clicks on the same item are serialised by its row lock. `also`
 * (the redraw it asks for) runs in the same statement, whether or not anything changed.
 */
export async function applyChange(
  db: Db,
  change: { instanceId: string; tick: string[]; untick: string[]; actor: string; source: string; lockOwner: boolean; admins: string[] },
  now: Date,
  also?: SqlPart,
): Promise<ChangeResult> {
  if (!change.tick.length && !change.untick.length) {
    if (also) await db.query(`with also as (${also.sql(1)}) select 1`, also.params);
    return { ticked: [], unticked: [], refused: [], archived: false };
  }
  const mayUntickAll = !change.lockOwner || change.admins.includes(change.actor);
  // Every part of a statement sees the same snapshot: `refused` reads the rows as they were before the unticks.
  const rows = await db.query<{ action: string; item_key: string; by: string | null }>(
    `with archived as (
       select 1 from checklist_instances where id = $1 and archived_at is not null
     ), ticked as (
       update checklist_items set checked = true, checked_by = $3, checked_at = $4
        where instance_id = $1 and item_key = any($2::text[]) and not checked and not exists (select from archived)
       returning item_key
     ), unticked as (
       update checklist_items set checked = false, checked_by = $3, checked_at = $4
        where instance_id = $1 and item_key = any($5::text[]) and checked and ($6 or checked_by = $3) and not exists (select from archived)
       returning item_key
     ), logged as (
       insert into checklist_events (instance_id, item_key, action, actor, source, at)
       select $1, item_key, 'tick', $3, $7, $4 from ticked
       union all
       select $1, item_key, 'untick', $3, $7, $4 from unticked
     )${also ? `, also as (${also.sql(8)})` : ''}
     select 'tick' as action, item_key, null as by from ticked
     union all select 'untick', item_key, null from unticked
     union all select 'refused', item_key, checked_by from checklist_items
      where not $6 and instance_id = $1 and item_key = any($5::text[]) and checked and checked_by is distinct from $3
        and not exists (select from archived)
     union all select 'archived', null, null from archived`,
    [change.instanceId, change.tick, change.actor, now, change.untick, mayUntickAll, change.source, ...(also?.params ?? [])],
  );
  const of = (action: string) => rows.filter((r) => r.action === action);
  return {
    ticked: of('tick').map((r) => r.item_key),
    unticked: of('untick').map((r) => r.item_key),
    refused: of('refused').map((r) => ({ key: r.item_key, by: r.by ?? '' })),
    archived: of('archived').length > 0,
  };
}

/** Sets (or clears, with owner undefined) the owner of items; records what changed. */
export async function assignItems(db: Db, a: { instanceId: string; keys: string[]; owner?: string; actor: string; source: string }, now: Date): Promise<string[]> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<{ item_key: string }>(
      `update checklist_items set owner = $3 where instance_id = $1 and item_key = any($2::text[]) and owner is distinct from $3 returning item_key`,
      [a.instanceId, a.keys, a.owner ?? null],
    );
    if (rows.length) {
      await tx.query(
        `insert into checklist_events (instance_id, item_key, action, actor, source, detail, at)
         select $1, k, $3, $4, $5, $6, $7 from unnest($2::text[]) as k`,
        [a.instanceId, rows.map((r) => r.item_key), a.owner ? 'assign' : 'unassign', a.actor, a.source, a.owner ?? null, now],
      );
    }
    return rows.map((r) => r.item_key);
  });
}

/** Sets the due date of items; records what changed. */
export async function setDue(db: Db, d: { instanceId: string; keys: string[]; dueAt?: Date; dueText?: string; actor: string; source: string }, now: Date): Promise<string[]> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<{ item_key: string }>(
      `update checklist_items set due_at = $3, due_text = $4
        where instance_id = $1 and item_key = any($2::text[]) and due_at is distinct from $3::timestamptz returning item_key`,
      [d.instanceId, d.keys, d.dueAt ?? null, d.dueText ?? null],
    );
    if (rows.length) {
      await tx.query(
        `insert into checklist_events (instance_id, item_key, action, actor, source, detail, at)
         select $1, k, 'due', $3, $4, $5, $6 from unnest($2::text[]) as k`,
        [d.instanceId, rows.map((r) => r.item_key), d.actor, d.source, d.dueAt ? `${d.dueAt.toISOString()}${d.dueText ? ` (${d.dueText})` : ''}` : 'cleared', now],
      );
    }
    return rows.map((r) => r.item_key);
  });
}

export interface HistoryEntry {
  itemKey?: string;
  action: string;
  actor: string;
  source: string;
  detail?: string;
  at: Date;
}

/** The audit trail of an instance (or one item), newest first. */
export async function history(db: Db, instanceId: string, itemKey?: string, limit = 200): Promise<HistoryEntry[]> {
  const rows = await db.query<{ item_key: string | null; action: string; actor: string; source: string; detail: string | null; at: Date }>(
    `select item_key, action, actor, source, detail, at from checklist_events
      where instance_id = $1 and ($2::text is null or item_key = $2) order by at desc, id desc limit $3`,
    [instanceId, itemKey ?? null, limit],
  );
  return rows.map((r) => ({ itemKey: r.item_key ?? undefined, action: r.action, actor: r.actor, source: r.source, detail: r.detail ?? undefined, at: new Date(r.at) }));
}

export interface PostedMessage {
  channel: string;
  ts: string;
  instanceId: string;
  sectionKey?: string;
  page: number;
}

export async function recordMessage(db: Db, m: PostedMessage): Promise<void> {
  await db.query(
    `insert into checklist_messages (channel, ts, instance_id, section_key, page) values ($1, $2, $3, $4, $5)
     on conflict (channel, ts) do nothing`,
    [m.channel, m.ts, m.instanceId, m.sectionKey ?? null, m.page],
  );
}

export async function messagesOf(db: Db, instanceId: string): Promise<PostedMessage[]> {
  const rows = await db.query<{ channel: string; ts: string; instance_id: string; section_key: string | null; page: number }>(
    'select channel, ts, instance_id, section_key, page from checklist_messages where instance_id = $1 order by posted_at',
    [instanceId],
  );
  return rows.map((r) => ({ channel: r.channel, ts: r.ts, instanceId: r.instance_id, sectionKey: r.section_key ?? undefined, page: r.page }));
}

export async function forgetMessage(db: Db, channel: string, ts: string): Promise<void> {
  await db.query('delete from checklist_messages where channel = $1 and ts = $2', [channel, ts]);
}

/** The instance most recently posted in a channel, for commands that leave it out. */
export async function lastInstanceIn(db: Db, channel: string): Promise<string | undefined> {
  const rows = await db.query<{ instance_id: string }>('select instance_id from checklist_messages where channel = $1 order by posted_at desc limit 1', [channel]);
  return rows[0]?.instance_id;
}

/** Item keys with recorded human activity, per instance's runbook (lint warns when such an item vanishes). */
export async function recordedKeys(db: Db): Promise<Array<{ runbookId: string; instanceId: string; itemKey: string }>> {
  const rows = await db.query<{ runbook_id: string; instance_id: string; item_key: string }>(
    `select distinct i.runbook_id, e.instance_id, e.item_key from checklist_events e join checklist_instances i on i.id = e.instance_id
      where e.item_key is not null`,
  );
  return rows.map((r) => ({ runbookId: r.runbook_id, instanceId: r.instance_id, itemKey: r.item_key }));
}
