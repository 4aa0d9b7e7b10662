import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db, Queryable } from '../db/db.ts';
import { isUnavailable } from '../db/db.ts';
import type { Logger } from '../log.ts';
import { claimDue, completeJob, failJob, insertJob, releaseWorker, type Job, type NewJob } from './store.ts';

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
  private wakeTimer?: { at: number; timer: NodeJS.Timeout };
  private running?: Promise<number>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly opts: { db: Db; log: Logger; now: () => Date },
  ) {}

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
    this.wake(job.runAt);
    return created;
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
    clearTimeout(this.wakeTimer?.timer);
    this.wakeTimer = undefined;
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
          jobs = await claimDue(this.opts.db, { worker: this.worker, now: this.opts.now(), leaseMs: LEASE_MS, limit: BATCH, names: this.names() });
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
    try {
      await def.run(job, { now, late: now.getTime() - job.runAt.getTime() > LATE_MS });
      const done = this.opts.now();
      await completeJob(this.opts.db, { id: job.id, worker: this.worker, now: done, rerunAt: new Date(done.getTime() + (def.minIntervalMs ?? 0)) });
      if (def.minIntervalMs) this.wake(new Date(done.getTime() + def.minIntervalMs));
    } catch (err) {
      const max = def.maxAttempts ?? 5;
      const retryAt = job.attempts < max ? new Date(this.opts.now().getTime() + 1000 * 2 ** (job.attempts - 1)) : undefined;
      this.warn(err, `job ${job.name} failed${retryAt ? '; will retry' : ' for good'}`, { key: job.key, attempt: job.attempts });
      await failJob(this.opts.db, { id: job.id, worker: this.worker, error: (err as Error).message ?? String(err), retryAt }).catch(() => undefined);
      if (retryAt) this.wake(retryAt);
    }
  }

  /** Sets one timer for the earliest time this instance knows work is due (real time; polls catch the rest). */
  private wake(at: Date): void {
    if (this.stopped || !this.poller) return;
    const delay = Math.max(0, at.getTime() - this.opts.now().getTime());
    const when = Date.now() + delay;
    if (this.wakeTimer && this.wakeTimer.at <= when) return;
    clearTimeout(this.wakeTimer?.timer);
    const timer = setTimeout(() => {
      this.wakeTimer = undefined;
      void this.runDue();
    }, delay);
    timer.unref();
    this.wakeTimer = { at: when, timer };
  }

  private warn(err: unknown, msg: string, extra: Record<string, unknown> = {}): void {
    if (isUnavailable(err)) this.opts.log.debug({ err: (err as Error).message, ...extra }, msg);
    else this.opts.log.warn({ err: (err as Error).message ?? String(err), ...extra }, msg);
  }
}
