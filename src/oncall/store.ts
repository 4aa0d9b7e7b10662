import { randomBytes } from 'node:crypto';
import type { Queryable, Db } from '../db/db.ts';
import type { Override } from './rotation.ts';

/** An override as stored, with who made it. */
export interface StoredOverride extends Override {
  id: number;
  rotationId: string;
  createdBy: string;
  swapId?: number;
}

/** A swap request as stored. */
export interface Swap {
  id: number;
  rotationId: string;
  requester: string;
  target: string;
  shiftStart: Date;
  shiftEnd: Date;
  state: 'pending' | 'accepted' | 'declined';
  createdAt: Date;
  decidedAt?: Date;
}

interface OverrideRow {
  id: string | number;
  rotation_id: string;
  user_id: string;
  starts_at: Date | string;
  ends_at: Date | string;
  created_by: string;
  created_at: Date | string;
  swap_id: string | number | null;
}

interface SwapRow {
  id: string | number;
  rotation_id: string;
  requester: string;
  target: string;
  shift_start: Date | string;
  shift_end: Date | string;
  state: Swap['state'];
  created_at: Date | string;
  decided_at: Date | string | null;
}

const toOverride = (r: OverrideRow): StoredOverride => ({
  id: Number(r.id),
  rotationId: r.rotation_id,
  userId: r.user_id,
  start: new Date(r.starts_at),
  end: new Date(r.ends_at),
  createdBy: r.created_by,
  createdAt: new Date(r.created_at),
  swapId: r.swap_id === null ? undefined : Number(r.swap_id),
});

const toSwap = (r: SwapRow): Swap => ({
  id: Number(r.id),
  rotationId: r.rotation_id,
  requester: r.requester,
  target: r.target,
  shiftStart: new Date(r.shift_start),
  shiftEnd: new Date(r.shift_end),
  state: r.state,
  createdAt: new Date(r.created_at),
  decidedAt: r.decided_at === null ? undefined : new Date(r.decided_at),
});

const OVERRIDE_COLS = 'id, rotation_id, user_id, starts_at, ends_at, created_by, created_at, swap_id';
const SWAP_COLS = 'id, rotation_id, requester, target, shift_start, shift_end, state, created_at, decided_at';

/** Stores an override (once per rotation, person and window: a retried command is the same row). */
export async function addOverride(q: Queryable, o: { rotationId: string; userId: string; start: Date; end: Date; createdBy: string; now: Date; swapId?: number }): Promise<{ override: StoredOverride; created: boolean }> {
  const inserted = await q.query<OverrideRow>(
    `insert into oncall_overrides (rotation_id, user_id, starts_at, ends_at, created_by, created_at, swap_id) values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (rotation_id, user_id, starts_at, ends_at) do nothing returning ${OVERRIDE_COLS}`,
    [o.rotationId, o.userId, o.start, o.end, o.createdBy, o.now, o.swapId ?? null],
  );
  if (inserted[0]) return { override: toOverride(inserted[0]), created: true };
  const existing = await q.query<OverrideRow>(`select ${OVERRIDE_COLS} from oncall_overrides where rotation_id = $1 and user_id = $2 and starts_at = $3 and ends_at = $4`, [o.rotationId, o.userId, o.start, o.end]);
  return { override: toOverride(existing[0]!), created: false };
}

/** Overrides of the given rotations (all when omitted) that end after `from` and start before `to`. */
export async function overridesBetween(q: Queryable, from: Date, to: Date, rotationIds?: string[]): Promise<StoredOverride[]> {
  const rows = await q.query<OverrideRow>(
    `select ${OVERRIDE_COLS} from oncall_overrides where ends_at > $1 and starts_at < $2 and ($3::text[] is null or rotation_id = any($3::text[])) order by created_at, id`,
    [from, to, rotationIds ?? null],
  );
  return rows.map(toOverride);
}

/** Stores a swap request; a repeat of a pending one returns it with created false. */
export async function requestSwap(q: Queryable, s: { rotationId: string; requester: string; target: string; shiftStart: Date; shiftEnd: Date; now: Date }): Promise<{ swap: Swap; created: boolean }> {
  const inserted = await q.query<SwapRow>(
    `insert into oncall_swaps (rotation_id, requester, target, shift_start, shift_end, created_at) values ($1, $2, $3, $4, $5, $6)
     on conflict (rotation_id, requester, target, shift_start) where state = 'pending' do nothing returning ${SWAP_COLS}`,
    [s.rotationId, s.requester, s.target, s.shiftStart, s.shiftEnd, s.now],
  );
  if (inserted[0]) return { swap: toSwap(inserted[0]), created: true };
  const rows = await q.query<SwapRow>(`select ${SWAP_COLS} from oncall_swaps where rotation_id = $1 and requester = $2 and target = $3 and shift_start = $4 and state = 'pending'`, [s.rotationId, s.requester, s.target, s.shiftStart]);
  return { swap: toSwap(rows[0]!), created: false };
}

/** One swap by id. */
export async function getSwap(q: Queryable, id: number): Promise<Swap | undefined> {
  const rows = await q.query<SwapRow>(`select ${SWAP_COLS} from oncall_swaps where id = $1`, [id]);
  return rows[0] && toSwap(rows[0]);
}

/**
 * Decides a pending swap as its target, in one transaction: only the first decision counts (a double click or
 * a second instance finds it decided), and an accepted swap becomes an override for the shift.
 */
export async function decideSwap(db: Db, d: { id: number; by: string; accept: boolean; now: Date }): Promise<{ swap?: Swap; decided: boolean }> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<SwapRow>(
      `update oncall_swaps set state = $3, decided_at = $4 where id = $1 and target = $2 and state = 'pending' returning ${SWAP_COLS}`,
      [d.id, d.by, d.accept ? 'accepted' : 'declined', d.now],
    );
    if (!rows[0]) return { swap: await getSwap(tx, d.id), decided: false };
    const swap = toSwap(rows[0]);
    if (d.accept) await addOverride(tx, { rotationId: swap.rotationId, userId: swap.target, start: swap.shiftStart, end: swap.shiftEnd, createdBy: swap.target, now: d.now, swapId: swap.id });
    return { swap, decided: true };
  });
}

/** One line of /oncall history: an override or a swap, newest first. */
export type HistoryEntry = { kind: 'override'; override: StoredOverride } | { kind: 'swap'; swap: Swap };

/** Overrides and swaps of a rotation (all when omitted), newest first. */
export async function history(q: Queryable, rotationId: string | undefined, limit = 20): Promise<HistoryEntry[]> {
  const overrides = await q.query<OverrideRow>(`select ${OVERRIDE_COLS} from oncall_overrides where ($1::text is null or rotation_id = $1) and swap_id is null order by created_at desc, id desc limit $2`, [rotationId ?? null, limit]);
  const swaps = await q.query<SwapRow>(`select ${SWAP_COLS} from oncall_swaps where ($1::text is null or rotation_id = $1) order by created_at desc, id desc limit $2`, [rotationId ?? null, limit]);
  const entries: Array<HistoryEntry & { at: number }> = [
    ...overrides.map((r) => ({ kind: 'override' as const, override: toOverride(r), at: new Date(r.created_at).getTime() })),
    ...swaps.map((r) => ({ kind: 'swap' as const, swap: toSwap(r), at: new Date(r.decided_at ?? r.created_at).getTime() })),
  ];
  return entries.sort((a, b) => b.at - a.at).slice(0, limit);
}

/** The secret token of a rotation's calendar URL, made once (concurrent first uses agree on one). */
export async function calendarToken(q: Queryable, rotationId: string): Promise<string> {
  await q.query('insert into oncall_calendar_tokens (rotation_id, token) values ($1, $2) on conflict (rotation_id) do nothing', [rotationId, randomBytes(24).toString('base64url')]);
  const rows = await q.query<{ token: string }>('select token from oncall_calendar_tokens where rotation_id = $1', [rotationId]);
  return rows[0]!.token;
}
