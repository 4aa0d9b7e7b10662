import { DatabaseUnavailableError, type Db, type Queryable, type SqlPart } from '../db/db.ts';
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

/** One click's change: what to tick and untick, by whom, and the lock that says who may untick. */
export interface Click {
  tick: string[];
  untick: string[];
  actor: string;
  source: string;
  /** The runbook's `lock: owner`: only whoever ticked an item, or one of `admins`, may untick it. */
  lockOwner: boolean;
  admins: string[];
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
  const [result] = await applyClicks(db, change.instanceId, [change], now, also);
  return result!;
}

/**
 * Several clicks on one checklist in one statement and one commit, with one result each. Each is judged on the
 * checklist as it was before the statement: the first click to tick an item ticks it and the later ones find it
 * ticked; the first click allowed to untick it (`lock: owner`) unticks it, and one not allowed is refused even if
 * an allowed one unticks it in the same statement. No row is updated twice.
 */
export async function applyClicks(db: Db, instanceId: string, clicks: Click[], now: Date, also?: SqlPart): Promise<ChangeResult[]> {
  const asks = clicks.flatMap((c, ix) => [...c.tick.map((key) => [ix, key, true] as const), ...c.untick.map((key) => [ix, key, false] as const)]);
  // Every part of a statement sees the same snapshot: `refused` reads the rows as they were before the unticks.
  const rows = await db.query<{ action: string; ix: number | null; item_key: string; by: string | null }>(
    `with archived as (
       select 1 from checklist_instances where id = $1 and archived_at is not null
     ), clicks as (
       select * from unnest($2::int[], $3::text[], $4::bool[], $5::text[]) as c(ix, actor, may_all, source)
     ), asks as (
       select a.ix, a.item_key, a.tick, c.actor, c.may_all, c.source
         from unnest($6::int[], $7::text[], $8::bool[]) as a(ix, item_key, tick) join clicks c using (ix)
     ), ticks as (
       select distinct on (item_key) ix, item_key, actor, source from asks where tick order by item_key, ix
     ), unticks as (
       select distinct on (a.item_key) a.ix, a.item_key, a.actor, a.source, a.may_all
         from asks a join checklist_items x on x.instance_id = $1 and x.item_key = a.item_key
        where not a.tick and x.checked and (a.may_all or x.checked_by = a.actor)
        order by a.item_key, a.ix
     ), ticked as (
       update checklist_items i set checked = true, checked_by = t.actor, checked_at = $9
         from ticks t
        where i.instance_id = $1 and i.item_key = t.item_key and not i.checked and not exists (select from archived)
       returning t.ix, t.item_key, t.actor, t.source
     ), unticked as (
       update checklist_items i set checked = false, checked_by = u.actor, checked_at = $9
         from unticks u
        where i.instance_id = $1 and i.item_key = u.item_key and i.checked and (u.may_all or i.checked_by = u.actor)
          and not exists (select from archived)
       returning u.ix, u.item_key, u.actor, u.source
     ), logged as (
       insert into checklist_events (instance_id, item_key, action, actor, source, at)
       select $1, item_key, 'tick', actor, source, $9 from ticked
       union all
       select $1, item_key, 'untick', actor, source, $9 from unticked
     )${also ? `, also as (${also.sql(10)})` : ''}
     select 'tick' as action, ix, item_key, null as by from ticked
     union all select 'untick', ix, item_key, null from unticked
     union all select 'refused', a.ix, a.item_key, x.checked_by
       from asks a join checklist_items x on x.instance_id = $1 and x.item_key = a.item_key
      where not a.tick and not a.may_all and x.checked and x.checked_by is distinct from a.actor and not exists (select from archived)
     union all select 'archived', null, null, null from archived`,
    [
      instanceId,
      clicks.map((_, ix) => ix),
      clicks.map((c) => c.actor),
      clicks.map((c) => !c.lockOwner || c.admins.includes(c.actor)),
      clicks.map((c) => c.source),
      asks.map((a) => a[0]),
      asks.map((a) => a[1]),
      asks.map((a) => a[2]),
      now,
      ...(also?.params ?? []),
    ],
  );
  const archived = rows.some((r) => r.action === 'archived');
  return clicks.map((_, ix) => {
    const of = (action: string) => rows.filter((r) => r.action === action && r.ix === ix);
    return {
      ticked: of('tick').map((r) => r.item_key),
      unticked: of('untick').map((r) => r.item_key),
      refused: of('refused').map((r) => ({ key: r.item_key, by: r.by ?? '' })),
      archived,
    };
  });
}

/** Clicks in one statement at most: its arrays stay small, and one slow statement holds few clicks. */
const MAX_CLICKS_PER_STATEMENT = 100;
/**
 * A click that waited this long for the statement ahead of it is not started: its clicker is being told the
 * database did not answer (within Slack's 3 s), and a tick stored after that would contradict them.
 */
export const MAX_CLICK_WAIT_MS = 2000;

interface Waiting {
  click: Click;
  since: number;
  done: (r: Promise<ChangeResult>) => void;
}

/**
 * Clicks on one checklist that arrive while its tick statement runs wait and go together in the next one: one
 * round trip and one commit for many clicks when fifty people tick at once, and no wait for a lone click. Each
 * click still gets its own result and is acknowledged only once its statement has committed.
 */
export class ClickBatches {
  private waiting = new Map<string, Waiting[]>();

  constructor(
    private readonly db: Db,
    private readonly now: () => Date,
    /** The redraw a change on this checklist asks for, in the same statement. */
    private readonly redraw: (instanceId: string) => SqlPart,
    private readonly maxWaitMs = MAX_CLICK_WAIT_MS,
  ) {}

  apply(instanceId: string, click: Click): Promise<ChangeResult> {
    return new Promise((resolve) => {
      const queue = this.waiting.get(instanceId);
      const entry = { click, since: performance.now(), done: resolve };
      if (queue) queue.push(entry);
      else {
        this.waiting.set(instanceId, []);
        void this.run(instanceId, [entry]);
      }
    });
  }

  /** Runs a batch, then whatever queued meanwhile, until nothing waits. */
  private async run(instanceId: string, batch: Waiting[]): Promise<void> {
    while (batch.length) {
      const late = performance.now() - this.maxWaitMs;
      const ready = batch.filter((b) => b.since >= late);
      for (const b of batch) if (b.since < late) b.done(Promise.reject(new DatabaseUnavailableError(`the click waited over ${this.maxWaitMs} ms for the statement before it`)));
      if (ready.length) {
        // The redraw is marked in the change's own statement, before the clicks are acknowledged: an acknowledged
        // click's redraw is in the database for any instance, and costs no second round trip or commit.
        const clicks = ready.map((b) => b.click);
        const results = (async () => applyClicks(this.db, instanceId, clicks, this.now(), this.redraw(instanceId)))();
        ready.forEach((b, i) => b.done(results.then((r) => r[i]!)));
        await results.catch(() => undefined);
      }
      batch = this.waiting.get(instanceId)!.splice(0, MAX_CLICKS_PER_STATEMENT);
    }
    this.waiting.delete(instanceId);
  }
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
