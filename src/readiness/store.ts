import type { Db } from '../db/db.ts';
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

/** Snapshots of the instances from `fromDay` on, per instance, oldest first. */
export async function loadSnapshots(db: Db, instanceIds: string[], fromDay: string): Promise<Map<string, Snapshot[]>> {
  const rows = await db.query<{ instance_id: string; day: string; done: number; total: number; score: number }>(
    `select instance_id, day::text as day, done, total, score from readiness_snapshots
      where instance_id = any($1::text[]) and day >= $2::date order by day`,
    [instanceIds, fromDay],
  );
  const out = new Map<string, Snapshot[]>();
  for (const r of rows) {
    if (!out.has(r.instance_id)) out.set(r.instance_id, []);
    out.get(r.instance_id)!.push({ day: String(r.day).slice(0, 10), done: Number(r.done), total: Number(r.total), score: Number(r.score) });
  }
  return out;
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
