import bolt from '@slack/bolt';
import type { App } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import type { Queryable, SqlPart } from '../db/db.ts';
import type { Logger } from '../log.ts';
import { RetryLater, type Scheduler } from './scheduler.ts';
import { listJobs, type NewJob } from './store.ts';

const { LogLevel, webApi } = bolt;

/** One posted message's current content, drawn from the database. */
export interface Redrawn {
  channel: string;
  ts: string;
  blocks: KnownBlock[];
  text: string;
}

/** How a kind of posted message (a checklist, a rollback run) is drawn, and forgotten when Slack lost it. */
export interface RedrawKind {
  /** Every posted message showing `ref`, as it should look now. */
  render(ref: string): Promise<Redrawn[]>;
  /** The message is gone (deleted, channel archived): stop updating it. */
  forget(channel: string, ts: string): Promise<void>;
}

const JOB = 'redraw';
/** A burst of changes becomes one update. */
const FIRST_DELAY_MS = 150;
/** chat.update is rate limited (about one a second per message, for the whole deployment). */
const MIN_INTERVAL_MS = 1000;
/** A chat.update Slack does not answer in this long is given up and the redraw retried (the lease is 30 s, renewed). */
const CALL_TIMEOUT_MS = 10_000;
/** Slack unreachable or failing (5xx, network): try again this much later, for as long as it takes. */
const UNREACHABLE_RETRY_MS = 5000;

/**
 * Messages updated in place converge to the database whatever instance, order or delay: a change marks the
 * message's job dirty in PostgreSQL (`rearm`); one instance at a time holds the claim, renders from the
 * database and posts; a change that lands meanwhile makes it run once more, at least a second later.
 *
 * Why it converges: runs of one message's job never overlap (one claim, its lease renewed while Slack is
 * slow), each run reads the database after the changes that asked for it committed, and the next run starts
 * only after Slack answered the previous one's updates, so Slack receives them in the order they were drawn.
 * A 429 or an unreachable Slack gives the job back with a time it may not run before; it is never dropped.
 */
export class Redraws {
  private readonly kinds = new Map<string, RedrawKind>();
  private client?: App['client'];

  constructor(
    private readonly jobs: Scheduler,
    private readonly opts: { now: () => Date; log: Logger },
  ) {
    jobs.define({
      name: JOB,
      minIntervalMs: MIN_INTERVAL_MS,
      run: async (job) => {
        const { kind, ref } = job.payload as { kind: string; ref: string };
        await this.draw(kind, ref);
      },
    });
  }

  /**
   * Redraws use their own client on the app's token and URL, without the client's own retries: a 429 goes back
   * to the scheduler (honouring Retry-After on whichever instance runs it next) instead of holding the claim
   * and a stopping instance for minutes.
   */
  useClient(client: App['client']): void {
    const log = this.opts.log.child({ component: 'redraw-client' });
    this.client = new webApi.WebClient(client.token, {
      slackApiUrl: client.slackApiUrl,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
      timeout: CALL_TIMEOUT_MS,
      logger: {
        debug: (...m: unknown[]) => log.debug(m.join(' ')),
        info: (...m: unknown[]) => log.debug(m.join(' ')),
        warn: (...m: unknown[]) => log.debug(m.join(' ')),
        error: (...m: unknown[]) => log.warn(m.join(' ')),
        setLevel: () => undefined,
        getLevel: () => LogLevel.DEBUG,
        setName: () => undefined,
      },
    });
  }

  /** Registers a kind of message (checklist, rollback, …). */
  define(kind: string, def: RedrawKind): void {
    this.kinds.set(kind, def);
  }

  /** Asks for every message showing `ref` to be redrawn soon (in `q` to join the change's transaction). */
  async mark(kind: string, ref: string, q?: Queryable): Promise<void> {
    await this.jobs.schedule(this.job(kind, ref), { rearm: true, q });
  }

  /** mark() as a part of the change's own statement: the change and its redraw commit in one round trip. */
  markPart(kind: string, ref: string): SqlPart {
    return this.jobs.rearmPart(this.job(kind, ref));
  }

  private job(kind: string, ref: string): NewJob {
    // Due now on the app's clock; the coalescing wait is wall-clock time, so it passes under a frozen test clock too.
    return { name: JOB, key: `${kind}:${ref}`, runAt: this.opts.now(), notBefore: new Date(Date.now() + FIRST_DELAY_MS), payload: { kind, ref } };
  }

  /**
   * Resolves once no redraw is pending or running anywhere and this instance is idle (tests; at most ms). It runs
   * due work itself, so it also serves apps booted without polling (tests that drive the clock).
   */
  async settled(ms = 20_000): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      await this.jobs.runDue();
      const busy = await listJobs(this.jobs.db, { name: JOB, states: ['pending', 'running'], limit: 1 });
      if (!busy.length) return;
      if (Date.now() > until) throw new Error(`redraws still pending after ${ms} ms: ${busy.map((j) => `${j.key} ${j.state}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private async draw(kind: string, ref: string): Promise<void> {
    const def = this.kinds.get(kind);
    if (!def) return;
    if (!this.client) throw new Error('no Slack client yet');
    for (const m of await def.render(ref)) {
      try {
        await this.client.chat.update({ channel: m.channel, ts: m.ts, blocks: m.blocks, text: m.text });
      } catch (err) {
        const e = err as { code?: string; retryAfter?: number; statusCode?: number; data?: { error?: string } };
        const code = e.data?.error;
        // A deleted message or archived channel will never take updates again.
        if (code === 'message_not_found' || code === 'channel_not_found' || code === 'is_archived') await def.forget(m.channel, m.ts);
        else if (e.code === webApi.ErrorCode.RateLimitedError) throw new RetryLater(Math.max(1, e.retryAfter ?? 1) * 1000, `chat.update rate limited (${m.channel} ${m.ts})`);
        else if (e.code === webApi.ErrorCode.RequestError || (e.code === webApi.ErrorCode.HTTPError && (e.statusCode ?? 0) >= 500)) throw new RetryLater(UNREACHABLE_RETRY_MS, `Slack unreachable: ${(err as Error).message}`);
        else throw err;
      }
    }
  }
}
