// Readiness gathered from the database, the daily digest and snapshots, and their jobs on the app's one scheduler.
import type { KnownBlock } from '@slack/types';
import { webApi, type App } from '@slack/bolt';
import { DateTime } from 'luxon';
import cron, { type ScheduledTask } from 'node-cron';
import type { ItemState } from '../checklist/domain.ts';
import { ensureDefaultInstance, history, listInstances } from '../checklist/store.ts';
import type { Config } from '../config.ts';
import { ReadCache, type Db } from '../db/db.ts';
import type { Deps, OpenRollback } from '../deps.ts';
import type { Logger } from '../log.ts';
import type { RunbookLibrary } from '../runbooks/library.ts';
import { escapeMrkdwn } from '../slack/mrkdwn.ts';
import { digestBlocks, digestPlain, type Digest, type Extras } from './blocks.ts';
import { byUrgency, dayBefore, localDay, readiness, recentTicks, snapshotOf, TREND_DAYS, type Readiness } from './domain.ts';
import { loadBoard, saveSnapshots, subscribers } from './store.ts';
import { loadOpenAI, summarize } from './summary.ts';

export const DIGEST_JOB = 'readiness:digest';
export const DIGEST_POST_JOB = 'readiness:digest-post';
export const SNAPSHOT_JOB = 'readiness:snapshot';

/** What gathering readiness needs: a subset of Deps, so the CLI can build it without Slack. */
export interface ReadinessContext {
  db: Db;
  library: RunbookLibrary;
  config: Config;
  now: () => Date;
  log: Logger;
  onCall?: Deps['onCall'];
  openRollbacks?: Deps['openRollbacks'];
}

/** Runbook ids whose default checklist is known to exist, per database: checklists are archived, never deleted. */
const defaultsSeen = new WeakMap<Db, Set<string>>();

/** Creates each runbook's default checklist on first sight (as /checklist does), once per process and runbook. */
async function ensureDefaults(ctx: ReadinessContext, now: Date): Promise<void> {
  let seen = defaultsSeen.get(ctx.db);
  if (!seen) defaultsSeen.set(ctx.db, (seen = new Set()));
  const unseen = ctx.library.all().filter((r) => r.tasks.length && !seen.has(r.id));
  if (!unseen.length) return;
  // Archived ones count: an archived default checklist stays archived, it is not created again.
  const known = new Set((await listInstances(ctx.db, { archived: true })).map((i) => i.id));
  for (const r of unseen) {
    if (!known.has(r.id)) await ensureDefaultInstance(ctx.db, r, now);
    seen.add(r.id);
  }
}

/**
 * How late /readiness may see a change made through another instance on the same PostgreSQL; a change made
 * through this one shows at once (Db.changes). Scores, blockers and days left are computed at every ask.
 */
export const BOARD_MAX_AGE_MS = 1000;

type Board = Awaited<ReturnType<typeof loadBoard<OpenRollback[]>>>;
const boards = new WeakMap<Db, ReadCache<Board>>();

/** Board statements /readiness has run on db in this process (the bench shows how many asks the cache saved). */
export const boardReads = (db: Db): number => boards.get(db)?.reads ?? 0;

/**
 * Readiness of every instance (or of those `match` could name, see loadBoard), most urgent first, with the
 * item states it was computed from. With `ensureDefaults`, each runbook's default checklist is created on first
 * sight, so a fresh install shows its runbooks. With `extras`, who is on call and the open rollbacks (when those
 * capabilities are there), the rollbacks read in the same statement as the checklists. With `cached`, the
 * statement's answer is reused while it is fresh (BOARD_MAX_AGE_MS): managers asking at once share one read.
 */
export async function gatherBoard(
  ctx: ReadinessContext,
  opts: { ensureDefaults?: boolean; match?: string; extras?: boolean; cached?: boolean } = {},
): Promise<{ list: Readiness[]; states: Map<string, Map<string, ItemState>>; extras: Extras }> {
  const now = ctx.now();
  if (opts.ensureDefaults) await ensureDefaults(ctx, now);
  const zone = ctx.config.DIGEST_TIMEZONE;
  const fromDay = dayBefore(localDay(now, zone), TREND_DAYS);
  const read = (): Promise<Board> => loadBoard(ctx.db, { fromDay, match: opts.match, also: opts.extras ? ctx.openRollbacks : undefined });
  let cache = boards.get(ctx.db);
  if (opts.cached && !cache) boards.set(ctx.db, (cache = new ReadCache(ctx.db, { maxAgeMs: BOARD_MAX_AGE_MS, maxKeys: 100 })));
  const [board, onCall] = await Promise.all([
    opts.cached ? cache!.get(JSON.stringify([fromDay, opts.match ?? null, !!opts.extras]), read) : read(),
    // On call comes from the rotation files and overrides; a failing one is left out, not fatal.
    opts.extras ? ctx.onCall?.(now).catch((err: unknown) => void ctx.log.warn({ err: (err as Error).message }, 'on-call unavailable for readiness')) : undefined,
  ]);
  const list = board.rows
    .flatMap(({ instance, state, snapshots }) => {
      const runbook = ctx.library.get(instance.runbookId);
      return runbook ? [readiness(instance, runbook, state, { now, zone, snapshots })] : [];
    })
    .sort(byUrgency);
  return { list, states: new Map(board.rows.map((b) => [b.instance.id, b.state])), extras: { onCall: onCall ?? undefined, rollbacks: board.also } };
}

/** Readiness of every instance (or of those `match` could name), most urgent first. */
export async function gather(ctx: ReadinessContext, opts: { ensureDefaults?: boolean; match?: string } = {}): Promise<Readiness[]> {
  return (await gatherBoard(ctx, opts)).list;
}

/** The digest's content: readiness of every instance, the last 24 hours' ticks, and the summary line. */
export async function buildDigest(ctx: ReadinessContext, opts: { fire?: Date; late?: boolean } = {}): Promise<Digest> {
  const now = ctx.now();
  const { list, states, extras } = await gatherBoard(ctx, { ensureDefaults: true, extras: true });
  const since = new Date(now.getTime() - 24 * 3600e3);
  const [recent, summary] = await Promise.all([
    Promise.all(list.map(async (r) => recentTicks(r.instance, r.runbook, await history(ctx.db, r.instance.id, undefined, 500), states.get(r.instance.id) ?? new Map(), since))).then((x) => x.flat()),
    summarize(list, { apiKey: ctx.config.OPENAI_API_KEY, baseURL: ctx.config.OPENAI_BASE_URL, model: ctx.config.OPENAI_MODEL, log: ctx.log }),
  ]);
  return { at: now, day: localDay(now, ctx.config.DIGEST_TIMEZONE), list, recent, summary: summary.text, fire: opts.fire, late: opts.late, extras };
}

/** The digest as a Slack message. */
export function digestMessage(d: Digest): { blocks: KnownBlock[]; text: string } {
  return { blocks: digestBlocks(d), text: escapeMrkdwn(`Readiness digest: ${d.summary}`.slice(0, 3000)) };
}

/**
 * `preflight digest`: prints the digest as text (a dry run, the default), or with `post` posts it to the
 * channel (DIGEST_CHANNEL unless given), for external schedulers and for trying a new channel.
 */
export async function digestCommand(ctx: ReadinessContext, opts: { post?: boolean; channel?: string }, print: (line: string) => void = console.log): Promise<number> {
  const digest = await buildDigest(ctx);
  const channel = opts.channel ?? ctx.config.DIGEST_CHANNEL;
  if (!opts.post) {
    print(digestPlain(digest));
    print(`\n(dry run: nothing posted; --post posts it to ${channel ?? 'DIGEST_CHANNEL or --channel'})`);
    return 0;
  }
  if (!channel) {
    print('Nothing posted: set DIGEST_CHANNEL or pass --channel C0123456789.');
    return 2;
  }
  if (!ctx.config.SLACK_BOT_TOKEN) {
    print('Nothing posted: --post needs SLACK_BOT_TOKEN.');
    return 2;
  }
  const client = new webApi.WebClient(ctx.config.SLACK_BOT_TOKEN, { slackApiUrl: ctx.config.SLACK_API_URL, retryConfig: { retries: 2 } });
  const posted = await client.chat.postMessage({ channel, ...digestMessage(digest), unfurl_links: false });
  print(`Posted the digest to ${channel} (ts ${posted.ts}).`);
  return 0;
}

/**
 * The latest fire of a cron expression at or before `now` on the same local day (a fire from an earlier day is
 * not posted late). node-cron's own matcher decides; minutes are walked back so a day costs at most 1440 steps,
 * and the walk resumes from the last answer.
 */
export class CronFires {
  private readonly fields: ReturnType<typeof cron.parse>;
  private last?: { day: string; checkedTo: number; fire?: Date };

  constructor(
    private readonly task: Pick<ScheduledTask, 'match'>,
    expression: string,
    private readonly zone: string,
  ) {
    this.fields = cron.parse(expression);
  }

  /** The latest fire ≤ now today (in the zone), or undefined. */
  latest(now: Date): Date | undefined {
    const nowSec = Math.floor(now.getTime() / 1000) * 1000;
    const local = DateTime.fromMillis(nowSec, { zone: this.zone });
    const day = local.toISODate()!;
    const dayStart = local.startOf('day').toMillis();
    // A clock that went back (tests, NTP) starts the walk afresh.
    if (this.last && (this.last.day !== day || nowSec < this.last.checkedTo)) this.last = undefined;
    if (this.last && nowSec === this.last.checkedTo) return this.last.fire;
    const floor = this.last ? this.last.checkedTo : dayStart - 1;
    const seconds = [...this.fields.second].sort((a, b) => b - a);
    let fire: Date | undefined;
    for (let minute = local.startOf('minute'); minute.toMillis() > floor - 60_000 && minute.toMillis() >= dayStart && !fire; minute = minute.minus({ minutes: 1 })) {
      if (!this.fields.minute.includes(minute.minute) || !this.fields.hour.includes(minute.hour)) continue;
      for (const s of seconds) {
        const at = minute.toMillis() + s * 1000;
        if (at > nowSec || at <= floor) continue;
        if (this.task.match(new Date(at))) {
          fire = new Date(at);
          break;
        }
      }
    }
    const result = fire ?? this.last?.fire;
    this.last = { day, checkedTo: nowSec, fire: result };
    return result;
  }
}

/**
 * Defines the snapshot and digest jobs. node-cron fires on DIGEST_CRON in DIGEST_TIMEZONE, but only wakes the
 * scheduler: the producer turns the latest fire into a job keyed by its time, so each fire is one row whatever
 * the number of instances, and a fire missed while all were down is posted once when one comes back that day.
 */
export function defineDigestJobs(deps: Deps, client: App['client']): void {
  const ctx: ReadinessContext = deps;
  const zone = deps.config.DIGEST_TIMEZONE;
  // Only installs with a key load the OpenAI client, and they load it now rather than at the first digest.
  if (deps.config.OPENAI_API_KEY) void loadOpenAI().catch((err: unknown) => deps.log.warn({ err: (err as Error).message }, 'OpenAI client not loaded; the digest uses its template'));

  let lastSnapshotDay: string | undefined;
  deps.jobs.produce(SNAPSHOT_JOB, async (now) => {
    const day = localDay(now, zone);
    if (day === lastSnapshotDay) return;
    await deps.jobs.schedule({ name: SNAPSHOT_JOB, key: day, runAt: now });
    lastSnapshotDay = day;
  });
  deps.jobs.define({
    name: SNAPSHOT_JOB,
    // The day's snapshot is stored under the job's day, even when it runs late.
    run: async (job) => {
      const list = await gather(ctx);
      await saveSnapshots(deps.db, list.map((r) => ({ instanceId: r.instance.id, ...snapshotOf(r, job.key) })), deps.now());
    },
  });

  const task = cron.schedule(deps.config.DIGEST_CRON, () => void deps.jobs.runDue(), { timezone: zone, name: 'readiness-digest', noOverlap: false, suppressMissedWarning: true });
  task.unref?.();
  deps.onStop.push(async () => void (await task.destroy()));
  const fires = new CronFires(task, deps.config.DIGEST_CRON, zone);
  let lastFire: string | undefined;
  deps.jobs.produce(DIGEST_JOB, async (now) => {
    const fire = fires.latest(now);
    if (!fire || fire.toISOString() === lastFire) return;
    await deps.jobs.schedule({ name: DIGEST_JOB, key: fire.toISOString(), runAt: fire });
    lastFire = fire.toISOString();
  });
  deps.jobs.define({
    name: DIGEST_JOB,
    run: async (job, run) => {
      const recipients = [...new Set([...(deps.config.DIGEST_CHANNEL ? [deps.config.DIGEST_CHANNEL] : []), ...(await subscribers(deps.db))])];
      if (!recipients.length) return;
      const digest = await buildDigest(ctx, { fire: job.runAt, late: run.late });
      const message = digestMessage(digest);
      // One post job per recipient: a failed DM is retried alone and never reposts to the channel.
      for (const channel of recipients) await deps.jobs.schedule({ name: DIGEST_POST_JOB, key: `${job.key}:${channel}`, runAt: run.now, payload: { channel, ...message } });
    },
  });
  deps.jobs.define({
    name: DIGEST_POST_JOB,
    run: async (job) => {
      const p = job.payload as { channel: string; blocks: KnownBlock[]; text: string };
      await client.chat.postMessage({ channel: p.channel, blocks: p.blocks, text: p.text, unfurl_links: false });
    },
  });
}
