import type { App } from '@slack/bolt';
import type { Deps } from '../deps.ts';
import { fallbackText } from '../runbooks/blocks.ts';
import { checklistPages } from './blocks.ts';
import { forgetMessage, getInstance, loadState, messagesOf } from './store.ts';

const FIRST_DELAY_MS = 150;
// chat.update is rate limited per channel (about one a second sustained); a burst of ticks becomes one update.
const MIN_INTERVAL_MS = 1000;

interface Slot {
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
  dirty: boolean;
  last: number;
}

/**
 * Re-renders every posted message of an instance from the database after a change, coalesced per instance:
 * however many ticks arrive, each message gets at most one chat.update in flight and one a second.
 */
export class MessageUpdater {
  private slots = new Map<string, Slot>();

  constructor(
    private readonly deps: Deps,
    private readonly client: App['client'],
  ) {}

  /** Asks for the instance's messages to be brought up to date soon. */
  schedule(instanceId: string): void {
    const slot = this.slots.get(instanceId) ?? { dirty: false, last: 0 };
    this.slots.set(instanceId, slot);
    if (slot.running || slot.timer) {
      slot.dirty = true;
      return;
    }
    const wait = Math.max(FIRST_DELAY_MS, slot.last + MIN_INTERVAL_MS - Date.now());
    slot.timer = setTimeout(() => this.run(instanceId, slot), wait);
    // A pending redraw must not keep a stopping process alive.
    slot.timer.unref();
  }

  private run(instanceId: string, slot: Slot): void {
    slot.timer = undefined;
    slot.dirty = false;
    slot.running = this.flush(instanceId)
      .catch((err) => {
        this.deps.log.warn({ err: (err as Error).message, instanceId }, 'checklist messages not updated; retrying');
        slot.dirty = true;
      })
      .finally(() => {
        slot.running = undefined;
        slot.last = Date.now();
        if (slot.dirty) this.schedule(instanceId);
        else this.slots.delete(instanceId);
      });
  }

  private async flush(instanceId: string): Promise<void> {
    const { db, library, now } = this.deps;
    const instance = await getInstance(db, instanceId);
    const runbook = instance && library.get(instance.runbookId);
    if (!instance || !runbook) return;
    const messages = await messagesOf(db, instanceId);
    if (!messages.length) return;
    const state = await loadState(db, instanceId);
    const rendered = new Map<string, ReturnType<typeof checklistPages>>();
    for (const m of messages) {
      const key = m.sectionKey ?? '';
      if (!rendered.has(key)) rendered.set(key, checklistPages({ instance, runbook, state, now: now(), sectionKey: m.sectionKey }));
      const pages = rendered.get(key)!;
      const blocks = pages[Math.min(m.page, pages.length - 1)]!;
      try {
        await this.client.chat.update({ channel: m.channel, ts: m.ts, blocks, text: fallbackText(blocks) });
      } catch (err) {
        const code = (err as { data?: { error?: string } }).data?.error;
        // A deleted message or archived channel will never take updates again.
        if (code === 'message_not_found' || code === 'channel_not_found' || code === 'is_archived') await forgetMessage(db, m.channel, m.ts);
        else throw err;
      }
    }
  }

  /** Flushes what is pending (at most `ms`), then drops the rest: used at shutdown. */
  async close(ms = 3000): Promise<void> {
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, ms).unref())]);
    for (const slot of this.slots.values()) clearTimeout(slot.timer);
    this.slots.clear();
  }

  /** Resolves when no update is pending or running (tests and graceful shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const busy = [...this.slots.values()].filter((s) => s.running || s.timer);
      if (!busy.length) return;
      await Promise.all(busy.map((s) => s.running ?? new Promise((r) => setTimeout(r, 50))));
    }
  }
}
