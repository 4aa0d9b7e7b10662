import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db, Queryable, SqlPart } from '../db/db.ts';
import { isUnavailable } from '../db/db.ts';
import type { Logger } from '../log.ts';
import { claimDue, completeJob, extendLeases, failJob, insertJob, rearmPart, releaseWorker, type Job, type NewJob } from './store.ts';

/** What a job's run gets besides the job itself. */
export interface JobContext {
  /** The scheduler's clock at claim time (tests inject one). */
  now: Date;
  /** True when the job runs well after its time (every instance was down): say so rather than skip it. */
  late: boolean;
}

/** A kind of scheduled work: capabilities define theirs in register(), the scheduler runs them. */
export interface JobDefinition {
  name: string;
  run(job: Job, ctx: JobContext): Promise<void>;
  /** Attempts before the job is marked failed (default 5), with exponential backoff from 1 s. */
  maxAttempts?: number;
  /** Least time between two runs of the same job when it is asked for again while running (default 0). */
  minIntervalMs?: number;
}

/**
 * Called on every poll before due jobs are claimed: turns recurring rules (cron fires, rotation handoffs)
 * into jobs with deterministic keys, so every instance producing the same fire makes one row.
 */
export type Producer = (now: Date) => Promise<void>;

const LATE_MS = 60_000;
const LEASE_MS = 30_000;
const BATCH = 20;
/** Wake-up times kept per instance; beyond that the poll catches the rest. */
const MAX_WAKES = 1000;

/**
 * Thrown by a job that must wait (Slack answered 429 with Retry-After): it runs again after `ms`, on whichever
 * instance claims it then, the attempt does not count, and nothing brings it forward.
 */
export class RetryLater extends Error {
  constructor(
    readonly ms: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The app's one scheduler (pg-boss `timekeeper.ts`, graphile-worker `cron.ts`): due work is rows in `jobs`,
 * claimed with `for update skip locked` before it acts, polled by every instance. A restart finds its work in
 * the database; a crashed instance's claims expire after the lease and are taken by another.
 */
export class Scheduler {
  readonly worker = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly definitions = new Map<string, JobDefinition>();
  private readonly producers: Array<{ name: string; produce: Producer }> = [];
  private poller?: NodeJS.Timeout;
  /** Real times (ms, ascending) at which this instance knows work is due; one timer for the earliest. */
  private wakes: number[] = [];
  private wakeTimer?: NodeJS.Timeout;
  /** Jobs running here, whose leases the heartbeat renews. */
  private readonly held = new Set<number>();
  private heartbeat?: NodeJS.Timeout;
  private running?: Promise<number>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly opts: {
      db: Db;
      log: Logger;
      /** When work is meant for (budgets, handoffs, fires); tests inject one. */
      now: () => Date;
      /** The wall clock, for technical waits (rate limits, backoff); real time unless a test drives it too. */
      wall?: () => Date;
      /** How long a claim holds unless renewed (default 30 s). */
      leaseMs?: number;
    },
  ) {}

  private wall(): Date {
    return this.opts.wall?.() ?? new Date();
  }

  /** How long until a job may run: its time on the app's clock, its wait on the wall clock. */
  private dueIn(job: NewJob): number {
    return Math.max(job.runAt.getTime() - this.opts.now().getTime(), (job.notBefore?.getTime() ?? 0) - this.wall().getTime());
  }

  private get leaseMs(): number {
    return this.opts.leaseMs ?? LEASE_MS;
  }

  /** The database the jobs live in. */
  get db(): Db {
    return this.opts.db;
  }

  /** Registers a kind of job; its name is the `name` of the rows it runs. */
  define(def: JobDefinition): void {
    if (this.definitions.has(def.name)) throw new Error(`job ${def.name} defined twice`);
    this.definitions.set(def.name, def);
  }

  /** Registers a producer of recurring jobs (run on every poll, on every instance; keys make it idempotent). */
  produce(name: string, produce: Producer): void {
    this.producers.push({ name, produce });
  }

  /** The job names this scheduler can run. */
  names(): string[] {
    return [...this.definitions.keys()];
  }

  /**
   * Stores a job (idempotent by name and key; in `q` to join a caller's transaction) and wakes this instance
   * for it. With `rearm`, work already done or running is asked for again (see insertJob).
   */
  async schedule(job: NewJob, opts: { rearm?: boolean; q?: Queryable } = {}): Promise<boolean> {
    const created = await insertJob(opts.q ?? this.opts.db, job, opts);
    this.wakeIn(this.dueIn(job));
    return created;
  }

  /**
   * schedule(job, { rearm: true }) as a part of the caller's own statement (see SqlPart): the change and the work
   * it asks for commit together, in one round trip. This instance is woken for it as schedule() would.
   */
  rearmPart(job: NewJob): SqlPart {
    this.wakeIn(this.dueIn(job));
    return rearmPart(job);
  }

  /** Polls every `pollMs` (and at each job's time when this instance scheduled it). */
  start(pollMs = 1000): void {
    this.stopped = false;
    this.poller = setInterval(() => void this.runDue(), pollMs);
    this.poller.unref();
    void this.runDue();
  }

  /** Stops polling, waits for the jobs in hand, and gives back any claim so another instance takes it. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poller);
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakes = [];
    await this.running?.catch(() => undefined);
    await releaseWorker(this.opts.db, this.worker).catch(() => undefined);
  }

  /** Resolves when nothing is running here (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  /**
   * Runs producers, then claims and runs due jobs until none is left; resolves with how many ran. Calls made
   * while a pass runs join it and make it pass once more, so nothing scheduled meanwhile waits for the poll.
   */
  runDue(): Promise<number> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<number> {
    let ran = 0;
    do {
      this.again = false;
      const now = this.opts.now();
      for (const p of this.producers) {
        try {
          await p.produce(now);
        } catch (err) {
          this.warn(err, `job producer ${p.name} failed`);
        }
      }
      for (;;) {
        if (this.stopped) return ran;
        let jobs: Job[];
        try {
          jobs = await claimDue(this.opts.db, { worker: this.worker, now: this.opts.now(), wall: this.wall(), leaseMs: this.leaseMs, limit: BATCH, names: this.names() });
        } catch (err) {
          this.warn(err, 'could not claim due jobs');
          return ran;
        }
        if (!jobs.length) break;
        await Promise.all(jobs.map((job) => this.execute(job)));
        ran += jobs.length;
      }
    } while (this.again && !this.stopped);
    return ran;
  }

  private async execute(job: Job): Promise<void> {
    const def = this.definitions.get(job.name)!;
    const now = this.opts.now();
    this.hold(job.id);
    try {
      await def.run(job, { now, late: now.getTime() - job.runAt.getTime() > LATE_MS });
      const interval = def.minIntervalMs ?? 0;
      await completeJob(this.opts.db, { id: job.id, worker: this.worker, now: this.opts.now(), notBefore: new Date(this.wall().getTime() + interval) });
      if (interval) this.wakeIn(interval);
    } catch (err) {
      if (err instanceof RetryLater) {
        this.opts.log.info({ key: job.key, retryInMs: err.ms, err: err.message }, `job ${job.name} backs off`);
        await failJob(this.opts.db, { id: job.id, worker: this.worker, error: err.message, retryAfter: new Date(this.wall().getTime() + err.ms), backOff: true }).catch(() => undefined);
        this.wakeIn(err.ms);
        return;
      }
      const max = def.maxAttempts ?? 5;
      const backoff = job.attempts < max ? 1000 * 2 ** (job.attempts - 1) : undefined;
      this.warn(err, `job ${job.name} failed${backoff ? '; will retry' : ' for good'}`, { key: job.key, attempt: job.attempts });
      const retryAfter = backoff === undefined ? undefined : new Date(this.wall().getTime() + backoff);
      await failJob(this.opts.db, { id: job.id, worker: this.worker, error: (err as Error).message ?? String(err), retryAfter }).catch(() => undefined);
      if (backoff) this.wakeIn(backoff);
    } finally {
      this.release(job.id);
    }
  }

  private hold(id: number): void {
    this.held.add(id);
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      const until = new Date(this.opts.now().getTime() + this.leaseMs);
      extendLeases(this.opts.db, { worker: this.worker, ids: [...this.held], until }).catch((err) => this.warn(err, 'could not renew job leases'));
      // Renewed three times a lease, so only a dead instance loses its claims.
    }, this.leaseMs / 3);
    this.heartbeat.unref();
  }

  private release(id: number): void {
    this.held.delete(id);
    if (this.held.size) return;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /**
   * Remembers when this instance knows work is due (real time) and keeps one timer for the earliest: a later
   * wake-up (a redraw's rerun) is not dropped for an earlier one. Polls catch what other instances scheduled.
   */
  private wakeIn(ms: number): void {
    if (this.stopped || !this.poller) return;
    // A couple of ms late, so the claim's clock has surely reached the job's time.
    const when = Date.now() + Math.max(0, ms) + 2;
    // A wake-up due a few ms after this one is the same pass.
    if (this.wakes.some((w) => w >= when && w - when < 5)) return;
    const i = this.wakes.findIndex((w) => w > when);
    this.wakes.splice(i < 0 ? this.wakes.length : i, 0, when);
    if (this.wakes.length > MAX_WAKES) this.wakes.pop();
    if (this.wakes[0] === when) this.arm();
  }

  private arm(): void {
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    const next = this.wakes[0];
    if (next === undefined) return;
    this.wakeTimer = setTimeout(() => {
      const t = Date.now();
      this.wakes = this.wakes.filter((w) => w > t);
      this.arm();
      void this.runDue();
    }, Math.max(0, next - Date.now()));
    this.wakeTimer.unref();
  }

  private warn(err: unknown, msg: string, extra: Record<string, unknown> = {}): void {
    if (isUnavailable(err)) this.opts.log.debug({ err: (err as Error).message, ...extra }, msg);
    else this.opts.log.warn({ err: (err as Error).message ?? String(err), ...extra }, msg);
  }
}
