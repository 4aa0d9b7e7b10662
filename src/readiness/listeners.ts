import type { App } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import { withTimeout } from '../db/db.ts';
import { listInstances } from '../checklist/store.ts';
import type { Deps } from '../deps.ts';
import { fallbackText } from '../runbooks/blocks.ts';
import { closest } from '../runbooks/library.ts';
import { section } from '../slack/blocks.ts';
import { errorText, UserError } from '../slack/errors.ts';
import { escapeCode } from '../slack/mrkdwn.ts';
import { homeBlocks, overviewBlocks, READINESS_HELP, readinessBlocks } from './blocks.ts';
import { defineDigestJobs, gather, gatherBoard } from './digest.ts';
import { subscribe, unsubscribe } from './store.ts';

/** Slack's answer window is 3 s; reading the figures gets most of it. */
const ACK_BUDGET_MS = 2500;

/** Interprets `/readiness …` (all reads but subscribe/unsubscribe, which are set operations). */
async function command(deps: Deps, user: string, text: string): Promise<KnownBlock[]> {
  const arg = text.trim();
  switch (arg.toLowerCase()) {
    case 'help':
      return [section(READINESS_HELP)];
    case 'subscribe': {
      const created = await subscribe(deps.db, user, deps.now());
      const where = deps.config.DIGEST_CHANNEL ? `, as it is posted in <#${escapeCode(deps.config.DIGEST_CHANNEL)}>` : '';
      return [section(`${created ? '📬 Subscribed' : '📬 You are already subscribed'}: the readiness digest comes to you as a direct message on its schedule (\`${escapeCode(deps.config.DIGEST_CRON)}\`, ${escapeCode(deps.config.DIGEST_TIMEZONE)})${where}. \`/readiness unsubscribe\` stops it.`)];
    }
    case 'unsubscribe':
      return [section((await unsubscribe(deps.db, user)) ? '📭 Unsubscribed: no more digest messages. `/readiness subscribe` brings them back.' : 'You were not subscribed to the digest; nothing changed. `/readiness subscribe` subscribes you.')];
  }
  if (!arg) {
    const { list, extras } = await gatherBoard(deps, { ensureDefaults: true, extras: true, cached: true });
    return overviewBlocks(list, extras);
  }
  const q = arg.toLowerCase();
  // The database returns only the checklists the words could name; the order of preference is decided here.
  const { list, extras } = await gatherBoard(deps, { ensureDefaults: true, match: q, extras: true, cached: true });
  const hit = list.find((r) => r.instance.id === q) ?? list.find((r) => r.instance.id === r.runbook.id && r.runbook.id.toLowerCase() === q) ?? list.find((r) => r.instance.name.toLowerCase() === q);
  if (!hit) {
    const near = closest(q, await listInstances(deps.db), (i) => [i.id, i.name.toLowerCase()]).map((i) => `\`${escapeCode(i.id)}\``);
    throw new UserError(`No checklist \`${escapeCode(arg)}\`.${near.length ? ` Closest: ${near.join(', ')}.` : ''} \`/readiness\` lists them all; \`/readiness help\` says more.`);
  }
  return readinessBlocks(hit, extras);
}

/** Registers /readiness, the daily snapshot and digest jobs, and the readiness part of App Home. */
export function register(app: App, deps: Deps): void {
  defineDigestJobs(deps, app.client);

  app.command('/readiness', async ({ command: cmd, ack }) => {
    try {
      const blocks = await withTimeout(command(deps, cmd.user_id, cmd.text), ACK_BUDGET_MS);
      await ack({ response_type: 'ephemeral', blocks, text: fallbackText(blocks) });
    } catch (err) {
      if (!(err instanceof UserError)) deps.log.warn({ err }, '/readiness failed');
      await ack({ response_type: 'ephemeral', text: errorText(err) });
    }
  });

  deps.home.push(async () => homeBlocks(await gather(deps)));
}
