import type { Db, ReadPart } from '../db/db.ts';
import type { Instance, ItemState } from '../checklist/domain.ts';
import { INSTANCE_COLUMNS, toInstance, toState, type InstanceRow, type ItemRow } from '../checklist/store.ts';
import type { Snapshot } from './domain.ts';

/** Stores the day's figures of each instance; a day already stored is kept (retries and other instances change nothing). */
export async function saveSnapshots(db: Db, rows: Array<Snapshot & { instanceId: string }>, now: Date): Promise<number> {
  if (!rows.length) return 0;
  const inserted = await db.query(
    `insert into readiness_snapshots (instance_id, day, done, total, score, taken_at)
     select i, d::date, n, t, s, $6 from unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::float8[]) as x(i, d, n, t, s)
      where exists (select 1 from checklist_instances c where c.id = x.i)
     on conflict (instance_id, day) do nothing returning instance_id`,
    [rows.map((r) => r.instanceId), rows.map((r) => r.day), rows.map((r) => r.done), rows.map((r) => r.total), rows.map((r) => r.score), now],
  );
  return inserted.length;
}

/** An instance with its item states and its snapshots from a given day on (oldest first). */
export interface BoardRow {
  instance: Instance;
  state: Map<string, ItemState>;
  snapshots: Snapshot[];
}

/**
 * Every checklist not archived (or only those `match` could name: its id, its runbook's id for a default
 * checklist, or its name, lower-cased) with its items and its snapshots from `fromDay` on, and `also` (another
 * capability's read), in one statement: /readiness reads everything it shows in one round trip.
 */
export async function loadBoard<T>(db: Db, opts: { fromDay: string; match?: string; also?: ReadPart<T> }): Promise<{ rows: BoardRow[]; also?: T }> {
  type Row = InstanceRow & { items: ItemRow[] | null; snaps: Snapshot[] | null };
  const { also } = opts;
  const [result] = await db.query<{ board: Row[] | null; also: unknown }>(
    `select (select json_agg(b order by b.created_at, b.id) from (
              select ${INSTANCE_COLUMNS},
                (select json_agg(x) from (select item_key, checked, checked_by, checked_at, owner, due_at, due_text
                                            from checklist_items where instance_id = checklist_instances.id) x) as items,
                (select json_agg(s order by s.day) from (select day::text as day, done, total, score
                                            from readiness_snapshots where instance_id = checklist_instances.id and day >= $1::date) s) as snaps
                from checklist_instances
               where archived_at is null
                 and ($2::text is null or id = $2 or (id = runbook_id and lower(runbook_id) = $2) or lower(name) = $2)) b) as board,
            ${also ? also.sql(3) : 'null'} as also`,
    [opts.fromDay, opts.match ?? null, ...(also?.params ?? [])],
  );
  const rows = (result?.board ?? []).map((r) => ({
    // JSON carries timestamps as ISO strings; toInstance and toState make them dates.
    instance: toInstance(r),
    state: new Map((r.items ?? []).map((i) => [i.item_key, toState(i)])),
    snapshots: (r.snaps ?? []).map((x) => ({ day: String(x.day).slice(0, 10), done: Number(x.done), total: Number(x.total), score: Number(x.score) })),
  }));
  return { rows, ...(also ? { also: also.read(result?.also ?? []) } : {}) };
}

/** Subscribes a user to the digest by direct message; false when already subscribed. */
export async function subscribe(db: Db, userId: string, now: Date): Promise<boolean> {
  const rows = await db.query('insert into readiness_subscriptions (user_id, subscribed_at) values ($1, $2) on conflict (user_id) do nothing returning user_id', [userId, now]);
  return rows.length > 0;
}

/** Unsubscribes a user; false when they were not subscribed. */
export async function unsubscribe(db: Db, userId: string): Promise<boolean> {
  const rows = await db.query('delete from readiness_subscriptions where user_id = $1 returning user_id', [userId]);
  return rows.length > 0;
}

/** Users who get the digest as a direct message, oldest subscription first. */
export async function subscribers(db: Db): Promise<string[]> {
  return (await db.query<{ user_id: string }>('select user_id from readiness_subscriptions order by subscribed_at, user_id')).map((r) => r.user_id);
}
