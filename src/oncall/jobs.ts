import type { App } from '@slack/bolt';
import type { Deps } from '../deps.ts';
import type { Rotations } from './config.ts';
import { handoffText, reminderText } from './blocks.ts';
import { handoffAt, onCallAt, plan, shiftIndexAt, type Plan, type Rotation } from './rotation.ts';
import { overridesBetween } from './store.ts';

/** Job names: a handoff's channel post and user group, the day-before DM, a user group sync at an override's edge. */
export const ONCALL_JOBS = { handoff: 'oncall:handoff', remind: 'oncall:remind', sync: 'oncall:sync' } as const;

const DAY = 86_400_000;

/** Who is on call in a rotation at t, with overrides from the database. */
export async function effectiveAt(deps: Deps, rotation: Rotation | Plan, t: Date) {
  const id = 'zone' in rotation ? rotation.rotation.id : rotation.id;
  const overrides = await overridesBetween(deps.db, t, new Date(t.getTime() + 1), [id]);
  return onCallAt(rotation, overrides, t);
}

/** Sets the rotation's user group to whoever is on call at t (never empties it: Slack refuses empty groups). */
async function syncUsergroup(deps: Deps, client: App['client'], rotation: Rotation, t: Date): Promise<void> {
  if (!rotation.usergroup) return;
  const current = await effectiveAt(deps, rotation, t);
  if (!current) return;
  await client.usergroups.users.update({ usergroup: rotation.usergroup, users: current.userId });
}

/**
 * Defines the handoff jobs and their producer: on every poll, for each rotation, the latest handoff ≤ now
 * (and the latest reminder time ≤ now) becomes a job keyed by rotation and instant, so every instance makes
 * the same one row, a restart finds it done, and a handoff missed while all were down runs once, late.
 */
export function defineOncallJobs(deps: Deps, rotations: Rotations, client: App['client']): void {
  const plans = new Map<Rotation, Plan>();
  const planFor = (r: Rotation) => plans.get(r) ?? plans.set(r, plan(r)).get(r)!;
  // Keys this instance already stored: the insert is idempotent anyway, this only saves a write per poll.
  const produced = new Set<string>();
  const produceOnce = async (name: string, key: string, runAt: Date, payload: Record<string, unknown>) => {
    if (produced.has(`${name}|${key}`)) return;
    await deps.jobs.schedule({ name, key, runAt, payload });
    produced.add(`${name}|${key}`);
  };

  deps.jobs.produce('oncall:handoffs', async (now) => {
    for (const rotation of rotations.all()) {
      if (!rotation.members.length) continue;
      const p = planFor(rotation);
      const k = shiftIndexAt(p, now);
      if (k >= 0) {
        const at = handoffAt(p, k);
        await produceOnce(ONCALL_JOBS.handoff, `${rotation.id}:${at.toISOString()}`, at, { rotation: rotation.id, at: at.toISOString() });
      }
      const next = handoffAt(p, k + 1);
      const remindAt = new Date(next.getTime() - DAY);
      if (remindAt <= now) await produceOnce(ONCALL_JOBS.remind, `${rotation.id}:${next.toISOString()}`, remindAt, { rotation: rotation.id, at: next.toISOString() });
    }
  });

  deps.jobs.define({
    name: ONCALL_JOBS.handoff,
    async run(job, ctx) {
      const rotation = rotations.get(String(job.payload.rotation));
      if (!rotation) return;
      const p = planFor(rotation);
      const at = new Date(String(job.payload.at));
      const current = await effectiveAt(deps, p, at);
      const until = current?.until;
      const next = until ? await effectiveAt(deps, p, until) : undefined;
      if (rotation.channel) {
        const text = handoffText({ rotation, userId: current?.userId, until, nextUserId: next?.userId, at, late: ctx.late });
        await client.chat.postMessage({ channel: rotation.channel, text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }], unfurl_links: false });
      }
      // A late run sets the group to whoever is on call now, which may already be a later override.
      await syncUsergroup(deps, client, rotation, ctx.late ? ctx.now : at);
    },
  });

  deps.jobs.define({
    name: ONCALL_JOBS.remind,
    async run(job, ctx) {
      const rotation = rotations.get(String(job.payload.rotation));
      if (!rotation) return;
      const start = new Date(String(job.payload.at));
      // Past the shift's start the reminder is moot; the handoff post covers it.
      if (ctx.now >= start) return;
      const upcoming = await effectiveAt(deps, planFor(rotation), start);
      if (!upcoming) return;
      await client.chat.postMessage({ channel: upcoming.userId, text: reminderText(rotation, start, upcoming.until), unfurl_links: false });
    },
  });

  deps.jobs.define({
    name: ONCALL_JOBS.sync,
    async run(job, ctx) {
      const rotation = rotations.get(String(job.payload.rotation));
      if (rotation) await syncUsergroup(deps, client, rotation, ctx.now);
    },
  });

  rotations.onChange(() => plans.clear());
}

/** Schedules user group syncs at the edges of an override window (the override's start and end). */
export async function scheduleSyncs(deps: Deps, rotation: Rotation, start: Date, end: Date): Promise<void> {
  if (!rotation.usergroup) return;
  for (const at of [start, end]) await deps.jobs.schedule({ name: ONCALL_JOBS.sync, key: `${rotation.id}:${at.toISOString()}`, runAt: at, payload: { rotation: rotation.id } }, { rearm: true });
}
