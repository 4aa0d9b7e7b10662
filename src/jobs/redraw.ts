import type { App } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import type { Queryable } from '../db/db.ts';
import type { Logger } from '../log.ts';
import type { Scheduler } from './scheduler.ts';

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

/**
 * Messages updated in place converge to the database whatever instance, order or delay: a change marks the
 * message's job dirty in PostgreSQL (`rearm`); one instance at a time holds the claim, renders from the
 * database and posts; a change that lands meanwhile makes it run once more, at least a second later.
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

  /** The Web API client updates go through (set once the Bolt app exists). */
  useClient(client: App['client']): void {
    this.client = client;
  }

  /** Registers a kind of message (checklist, rollback, …). */
  define(kind: string, def: RedrawKind): void {
    this.kinds.set(kind, def);
  }

  /** Asks for every message showing `ref` to be redrawn soon (in `q` to join the change's transaction). */
  async mark(kind: string, ref: string, q?: Queryable): Promise<void> {
    const runAt = new Date(this.opts.now().getTime() + FIRST_DELAY_MS);
    await this.jobs.schedule({ name: JOB, key: `${kind}:${ref}`, runAt, payload: { kind, ref } }, { rearm: true, q });
  }

  private async draw(kind: string, ref: string): Promise<void> {
    const def = this.kinds.get(kind);
    if (!def) return;
    if (!this.client) throw new Error('no Slack client yet');
    for (const m of await def.render(ref)) {
      try {
        await this.client.chat.update({ channel: m.channel, ts: m.ts, blocks: m.blocks, text: m.text });
      } catch (err) {
        const code = (err as { data?: { error?: string } }).data?.error;
        // A deleted message or archived channel will never take updates again.
        if (code === 'message_not_found' || code === 'channel_not_found' || code === 'is_archived') await def.forget(m.channel, m.ts);
        else throw err;
      }
    }
  }
}
