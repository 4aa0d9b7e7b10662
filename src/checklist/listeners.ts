import type { AllMiddlewareArgs, App, BlockAction, ButtonAction, CheckboxesAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { z } from 'zod';
import type { KnownBlock } from '@slack/types';
import { withTimeout } from '../db/db.ts';
import type { Deps } from '../deps.ts';
import { fallbackText, notFoundBlocks, sectionChoiceBlocks } from '../runbooks/blocks.ts';
import { closest, findSection } from '../runbooks/library.ts';
import type { Runbook, TaskItem } from '../runbooks/model.ts';
import { didYouMean, section } from '../slack/blocks.ts';
import { errorText, UserError } from '../slack/errors.ts';
import { escapeCode, escapeMrkdwn, slackDate, userMention } from '../slack/mrkdwn.ts';
import {
  archiveConfirmBlocks,
  CHECKLIST_ACTIONS,
  CHECKLIST_HELP,
  checklistPages,
  groupsFor,
  historyBlocks,
  homeView,
  instanceListBlocks,
  instanceOfBlock,
} from './blocks.ts';
import { canArchive, deriveChange, dueBasis, DueDateError, RUNBOOK_ACTOR, keysByRef, findItems, findSectionItems, instanceId as toInstanceId, nameAndLaunch, parseDue, progress, type Instance } from './domain.ts';
import {
  archiveInstance,
  assignItems,
  type ChangeResult,
  ClickBatches,
  createInstance,
  ensureDefaultInstance,
  getInstance,
  history,
  lastInstanceIn,
  listInstances,
  loadState,
  loadStates,
  syncInstance,
  recordMessage,
  setDue,
} from './store.ts';
import { CHECKLIST_REDRAW, checklistRedraw, renderChecklist } from './redraw.ts';

/** Slack's answer window is 3 s; database work for an acknowledgement gets most of it. */
const ACK_BUDGET_MS = 2500;

interface Reply {
  blocks: KnownBlock[];
  text: string;
}

const reply = (blocks: KnownBlock[]): Reply => ({ blocks, text: fallbackText(blocks) });
const say = (mrkdwn: string): Reply => reply([section(mrkdwn)]);

/** Words of a command, keeping "quoted phrases" together. */
export function words(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!).filter(Boolean);
}

const archiveRef = z.object({ id: z.string() });

const MENTION = /^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$/;

/** The checklist a command names: an instance id or a unique prefix of one, or a runbook (its default instance). */
async function resolveInstance(deps: Deps, query: string): Promise<{ instance: Instance; runbook: Runbook } | { suggestions: string[]; ambiguous?: boolean }> {
  const direct = await getInstance(deps.db, query);
  const withRunbook = (instance: Instance) => {
    const runbook = deps.library.get(instance.runbookId);
    if (!runbook) throw new UserError(`The runbook of \`${escapeCode(instance.id)}\` (\`${escapeCode(instance.runbookId)}\`) is gone from the runbooks folder.`);
    return { instance, runbook };
  };
  if (direct) return withRunbook(direct);
  const instances = await listInstances(deps.db);
  const lower = query.toLowerCase();
  // A unique prefix names a checklist, as it names a runbook for /runbook.
  const prefixed = instances.filter((i) => i.id.startsWith(lower) && !i.archivedAt);
  if (prefixed.length === 1) return withRunbook(prefixed[0]!);
  const found = deps.library.resolve(query);
  if ('runbook' in found && found.runbook.tasks.length) {
    await ensureDefaultInstance(deps.db, found.runbook, deps.now());
    return { instance: (await getInstance(deps.db, found.runbook.id))!, runbook: found.runbook };
  }
  if (prefixed.length > 1) return { suggestions: prefixed.map((i) => i.id).slice(0, 10), ambiguous: true };
  const templates = deps.library.all().filter((r) => r.tasks.length).map((r) => r.id);
  const names = [...new Set([...instances.map((i) => i.id), ...templates])];
  return { suggestions: closest(lower, names, (n) => [n, n.split('/').pop() ?? n]) };
}

async function requireInstance(deps: Deps, query: string, opts: { archived?: boolean } = {}): Promise<{ instance: Instance; runbook: Runbook }> {
  const r = await resolveInstance(deps, query);
  if ('instance' in r && r.instance.archivedAt && !opts.archived) {
    throw new UserError(`\`${escapeCode(r.instance.id)}\` was archived ${slackDate(r.instance.archivedAt)}${r.instance.archivedBy ? ` by ${userMention(r.instance.archivedBy)}` : ''}; its history stays: \`/checklist history ${escapeCode(r.instance.id)}\`.`);
  }
  if ('suggestions' in r) {
    const list = r.suggestions.map((s) => `\`${escapeCode(s)}\``);
    if (r.ambiguous) throw new UserError(`\`${escapeCode(query)}\` begins ${list.length} checklists; say more of the id:\n${list.map((l) => `• ${l}`).join('\n')}`);
    const near = didYouMean(list);
    throw new UserError(`No checklist \`${escapeCode(query)}\`.${near ? ` ${near}` : ''}\n\`/checklist\` lists them all.`);
  }
  return r;
}

/** `[<instance>] <rest…>`: the first word names the checklist when it is one, else the channel's last one. */
async function instanceAndRest(deps: Deps, channel: string, args: string[]): Promise<{ instance: Instance; runbook: Runbook; rest: string[] }> {
  if (args.length > 1) {
    const first = await resolveInstance(deps, args[0]!).catch(() => undefined);
    if (first && 'instance' in first) return { ...(await requireInstance(deps, first.instance.id)), rest: args.slice(1) };
  }
  const last = await lastInstanceIn(deps.db, channel);
  if (!last) throw new UserError('Which checklist? Name it first (e.g. `/checklist assign production-readiness backups @alice`), or post one here with `/checklist &lt;id&gt;`.');
  return { ...(await requireInstance(deps, last)), rest: args };
}

/** The items a query means; a clear error with the closest items when none or too many match. */
function requireItems(runbook: Runbook, query: string, allowSection: boolean): TaskItem[] {
  const hits = findItems(runbook.tasks, query);
  if (hits.length === 1) return hits;
  if (!hits.length && allowSection) {
    const inSection = findSectionItems(runbook, query);
    if (inSection.length) return inSection;
  }
  if (hits.length > 1) {
    throw new UserError(`\`${escapeCode(query)}\` matches ${hits.length} items; say more of the text:\n${hits.slice(0, 5).map((h) => `• ${h.mrkdwn}`).join('\n')}`);
  }
  const near = didYouMean(closest(query.toLowerCase(), runbook.tasks, (t) => [t.plain, t.key]).map((h) => h.mrkdwn));
  throw new UserError(`No item matches \`${escapeCode(query)}\` in \`${escapeCode(runbook.id)}\`.${near ? ` ${near}` : ''}`);
}

/** Summaries of every instance, creating each runbook's default instance on first sight. */
async function summaries(deps: Deps) {
  const now = deps.now();
  let everyInstance = await listInstances(deps.db, { archived: true });
  const known = new Set(everyInstance.map((i) => i.id));
  const missing = deps.library.all().filter((r) => r.tasks.length && !known.has(r.id));
  // Only runbooks seen for the first time cost a write; the list and Home stay one read otherwise.
  for (const r of missing) await ensureDefaultInstance(deps.db, r, now);
  if (missing.length) everyInstance = await listInstances(deps.db, { archived: true });
  // Archived checklists leave the list and Home (an archived default one is not made again).
  const instances = everyInstance.filter((i) => !i.archivedAt);
  const states = await loadStates(deps.db, instances.map((i) => i.id));
  return instances.map((instance) => {
    const runbook = deps.library.get(instance.runbookId);
    const state = states.get(instance.id) ?? new Map();
    const p = runbook ? progress(runbook.tasks, state, now) : { done: 0, total: 0, overdue: 0 };
    return { instance, runbook, state, ...p };
  });
}

/** What a /checklist command asks for: an ephemeral answer, a post in the channel, and posted messages to refresh. */
interface Outcome {
  reply?: Reply;
  post?: { instance: Instance; runbook: Runbook; sectionKey?: string };
  changed?: string;
}

/** Interprets `/checklist …`; answers are ephemeral, posting is left to the caller. */
async function command(deps: Deps, user: string, channel: string, text: string): Promise<Outcome> {
  const [verb = '', ...args] = words(text);
  const now = deps.now();
  switch (verb.toLowerCase()) {
    case '':
    case 'list':
      return { reply: reply(instanceListBlocks(await summaries(deps))) };
    case 'help':
      return { reply: say(CHECKLIST_HELP) };
    case 'new': {
      const [runbookQuery, ...rest] = args;
      const { name, launchDate: launch } = nameAndLaunch(rest);
      if (!runbookQuery || !name) throw new UserError('Usage: `/checklist new &lt;runbook&gt; &lt;name&gt; [launch YYYY-MM-DD]`, e.g. `/checklist new production-readiness "Payments v2" launch 2026-12-01`');
      const found = deps.library.resolve(runbookQuery);
      if (!('runbook' in found)) return { reply: reply(notFoundBlocks('runbook', runbookQuery, found.suggestions.map((r) => r.id))) };
      if (!found.runbook.tasks.length) throw new UserError(`\`${escapeCode(found.runbook.id)}\` has no \`- [ ]\` items, so it is not a checklist.`);
      const id = toInstanceId(name);
      if (!id) throw new UserError('Give the checklist a name with letters or digits in it.');
      const created = await createInstance(deps.db, found.runbook, { id, name, launchDate: launch, actor: user, source: 'slack' }, now);
      if (!created) throw new UserError(`A checklist \`${escapeCode(id)}\` exists already: post it with \`/checklist ${escapeCode(id)}\`, or choose another name.`);
      return { reply: say(`✨ Created *${escapeMrkdwn(name)}* (\`${escapeCode(id)}\`) from \`${escapeCode(found.runbook.id)}\` with ${found.runbook.tasks.length} items${launch ? `, launching ${launch}` : ''}. Post it here with \`/checklist ${escapeCode(id)}\`.`) };
    }
    case 'assign': {
      const who = args.at(-1) ?? '';
      const mention = MENTION.exec(who);
      const clear = /^(@?nobody|none)$/i.test(who);
      if (!mention && !clear) throw new UserError('Usage: `/checklist assign [&lt;id&gt;] &lt;item&gt; @user` (mention the user so Slack sends who it is; `@nobody` clears).');
      const { instance, runbook, rest } = await instanceAndRest(deps, channel, args.slice(0, -1));
      const items = requireItems(runbook, rest.join(' '), true);
      await assignItems(deps.db, { instanceId: instance.id, keys: items.map((i) => i.key), owner: mention?.[1], actor: user, source: 'slack' }, now);
      return { changed: instance.id, reply: say(`👤 ${items.length === 1 ? `_${items[0]!.mrkdwn}_` : `${items.length} items`} ${mention ? `assigned to ${userMention(mention[1]!)}` : 'unassigned'} in \`${escapeCode(instance.id)}\`.`) };
    }
    case 'due': {
      const spec = args.at(-1) ?? '';
      if (args.length < 2) throw new UserError('Usage: `/checklist due [&lt;id&gt;] &lt;item or section&gt; &lt;date&gt;`; dates: `2026-12-01`, `launch-24h`, `launch-2d`, `+3d`, `none`.');
      const { instance, runbook, rest } = await instanceAndRest(deps, channel, args.slice(0, -1));
      const items = requireItems(runbook, rest.join(' '), true);
      const dueAt = /^none$/i.test(spec) ? undefined : parseDue(spec, instance.launchDate, now, deps.config.TEAM_TIMEZONE);
      await setDue(deps.db, { instanceId: instance.id, keys: items.map((i) => i.key), dueAt, dueText: dueAt ? spec : undefined, actor: user, source: 'slack' }, now);
      return { changed: instance.id, reply: say(`📅 ${items.length === 1 ? `_${items[0]!.mrkdwn}_` : `${items.length} items`} in \`${escapeCode(instance.id)}\`: ${dueAt ? `due ${slackDate(dueAt)} (${escapeMrkdwn(dueBasis(spec) || spec)}${dueBasis(spec) && /^\d{4}-\d{2}-\d{2}$/.test(spec) ? `, ${escapeMrkdwn(deps.config.TEAM_TIMEZONE)}` : ''})` : 'no due date'}.`) };
    }
    case 'archive': {
      if (args.length !== 1) throw new UserError('Usage: `/checklist archive &lt;id&gt;`: hides a checklist from lists and App Home, keeping its history (its creator or an admin).');
      const { instance, runbook } = await requireInstance(deps, args[0]!);
      if (!canArchive(instance, user, deps.config.ADMIN_USERS)) throw new UserError(`Only whoever created \`${escapeCode(instance.id)}\`${instance.createdBy !== RUNBOOK_ACTOR ? ` (${userMention(instance.createdBy)})` : ''} or an admin (ADMIN_USERS) may archive it.`);
      const p = progress(runbook.tasks, await loadState(deps.db, instance.id), now);
      return { reply: reply(archiveConfirmBlocks(instance, p.done, p.total)) };
    }
    case 'history': {
      if (!args.length) throw new UserError('Usage: `/checklist history &lt;id&gt; [item]`');
      const { instance, runbook } = await requireInstance(deps, args[0]!, { archived: true });
      const item = args.length > 1 ? requireItems(runbook, args.slice(1).join(' '), false)[0] : undefined;
      const entries = await history(deps.db, instance.id, item?.key);
      return { reply: reply(historyBlocks(instance, entries, new Map(runbook.tasks.map((t) => [t.key, t])), item?.key)) };
    }
    default: {
      const { instance, runbook } = await requireInstance(deps, verb);
      let sectionKey: string | undefined;
      if (args.length) {
        const s = findSection(runbook, args.join(' '));
        if (!('section' in s)) return { reply: reply(sectionChoiceBlocks(runbook, args.join(' '), s.suggestions, !!s.ambiguous)) };
        sectionKey = s.section.key;
        if (!groupsFor(runbook, sectionKey).length) throw new UserError(`_${escapeMrkdwn(s.section.title)}_ has no checklist items.`);
      }
      return { post: { instance, runbook, sectionKey } };
    }
  }
}

/** Every other capability's part of Home; a part that fails or is slow is left out rather than failing Home. */
async function homeParts(deps: Deps, user: string): Promise<KnownBlock[]> {
  const parts = await Promise.all(
    deps.home.map((part) =>
      withTimeout(part(user), 1500).catch((err: unknown) => {
        deps.log.warn({ err: (err as Error).message }, 'an App Home part failed');
        return [] as KnownBlock[];
      }),
    ),
  );
  return parts.flat();
}

/** Republishes a user's Home tab from the database. */
async function publishHome(deps: Deps, client: App['client'], user: string): Promise<void> {
  const [list, parts] = await Promise.all([summaries(deps), homeParts(deps, user)]);
  const view = homeView({ user, now: deps.now(), parts, instances: list.filter((s) => s.runbook).map((s) => ({ instance: s.instance, runbook: s.runbook!, state: s.state })) });
  await client.views.publish({ user_id: user, view });
}

/**
 * Per-app memory for the click path: an instance's name and runbook never change once created, so a click needs
 * no lookup query after the first (archiving does change it, and the tick statement itself checks that); and an
 * instance's item rows are synced with its runbook whenever the runbook's text differs from the one last synced,
 * so an item added to the file can never be clicked into a missing row. Safe to lose and to differ between
 * instances: it only caches what never changes, and syncing is idempotent.
 */
class ClickCache {
  private instances = new Map<string, Instance>();
  private synced = new Map<string, string>();
  /** Clicks on one checklist that arrive while its tick statement runs share the next one. */
  readonly batches: ClickBatches;

  constructor(private readonly deps: Deps) {
    this.batches = new ClickBatches(deps.db, deps.now, (id) => deps.redraws.markPart(CHECKLIST_REDRAW, id));
  }

  async instance(id: string): Promise<Instance | undefined> {
    const hit = this.instances.get(id);
    if (hit) return hit;
    const instance = await getInstance(this.deps.db, id);
    if (instance) this.instances.set(id, instance);
    return instance;
  }

  async sync(instance: Instance, runbook: Runbook): Promise<void> {
    if (this.synced.get(instance.id) === runbook.checksum) return;
    await syncInstance(this.deps.db, instance.id, runbook, this.deps.now());
    this.synced.set(instance.id, runbook.checksum);
  }
}

const clickCaches = new WeakMap<Deps, ClickCache>();

/** Applies one click: what changed in the clicked element, as set operations. */
async function applyTick(deps: Deps, t: { id: string; user: string; seen: { shown: string[]; options: string[] }; selected: string[]; source: string }): Promise<{ result: ChangeResult; runbook: Runbook; instance: Instance }> {
  const cache = clickCaches.get(deps) ?? new ClickCache(deps);
  clickCaches.set(deps, cache);
  const instance = await cache.instance(t.id);
  const runbook = instance && deps.library.get(instance.runbookId);
  if (!instance || !runbook) throw new UserError(`The checklist \`${escapeCode(t.id)}\` no longer exists.`);
  await cache.sync(instance, runbook);
  // Option values are item refs; a ref this runbook no longer has (item removed since) is ignored.
  const keys = keysByRef(runbook);
  const toKeys = (refs: string[]) => refs.flatMap((r) => keys.get(r) ?? []);
  const change = deriveChange(toKeys(t.seen.shown), toKeys(t.selected), toKeys(t.seen.options));
  const result = await cache.batches.apply(t.id, { ...change, actor: t.user, source: t.source, lockOwner: runbook.meta.lock === 'owner', admins: deps.config.ADMIN_USERS });
  return { result, runbook, instance };
}

type TickArgs = SlackActionMiddlewareArgs<BlockAction<CheckboxesAction>> & AllMiddlewareArgs;

/** What the clicked element showed: the initial options of that element in the message or view the click came from. */
function shownSelection(body: BlockAction, blockId: string, actionId: string): { shown: string[]; options: string[] } | undefined {
  const blocks = (body.message?.blocks ?? body.view?.blocks) as Array<{ block_id?: string; elements?: Array<{ action_id?: string; options?: Array<{ value?: string }>; initial_options?: Array<{ value?: string }> }> }> | undefined;
  const element = blocks?.find((b) => b.block_id === blockId)?.elements?.find((e) => e.action_id === actionId);
  if (!element) return undefined;
  return { shown: (element.initial_options ?? []).map((o) => o.value ?? ''), options: (element.options ?? []).map((o) => o.value ?? '') };
}

/** Registers /checklist, the checkboxes and the App Home tab. */
export function register(app: App, deps: Deps): void {
  deps.redraws.define(CHECKLIST_REDRAW, checklistRedraw(deps));
  // Posted copies are redrawn by whichever instance claims the job (jobs/redraw.ts), at most once a second.
  const redraw = (id: string) => deps.redraws.mark(CHECKLIST_REDRAW, id).catch((err) => deps.log.warn({ err: (err as Error).message, id }, 'checklist redraw not scheduled'));

  // A runbook edited in git: give new items their state rows and redraw every posted copy of its checklists.
  deps.library.on('change', (ids) => {
    void (async () => {
      const changed = new Set(ids);
      for (const instance of (await listInstances(deps.db)).filter((i) => changed.has(i.runbookId))) {
        const runbook = deps.library.get(instance.runbookId);
        if (runbook) await syncInstance(deps.db, instance.id, runbook, deps.now());
        await redraw(instance.id);
      }
    })().catch((err) => deps.log.warn({ err: (err as Error).message }, 'checklists not refreshed after a runbook change'));
  });

  app.command('/checklist', async ({ command: cmd, ack, respond, client }) => {
    let result: Outcome;
    try {
      result = await withTimeout(command(deps, cmd.user_id, cmd.channel_id, cmd.text), ACK_BUDGET_MS);
    } catch (err) {
      if (!(err instanceof UserError || err instanceof DueDateError)) deps.log.warn({ err }, '/checklist failed');
      await ack({ response_type: 'ephemeral', text: err instanceof DueDateError ? escapeMrkdwn(err.message) : errorText(err) });
      return;
    }
    if (result.changed) await redraw(result.changed);
    if (!result.post) {
      await ack({ response_type: 'ephemeral', ...(result.reply ?? say('Done.')) });
      return;
    }
    await ack();
    const { instance, runbook, sectionKey } = result.post;
    try {
      await syncInstance(deps.db, instance.id, runbook, deps.now());
      const state = await loadState(deps.db, instance.id);
      const pages = checklistPages({ instance, runbook, state, now: deps.now(), sectionKey });
      const posted: string[] = [];
      for (const [page, blocks] of pages.entries()) {
        const sent = await client.chat.postMessage({ channel: cmd.channel_id, blocks, text: fallbackText(blocks), unfurl_links: false });
        await recordMessage(deps.db, { channel: cmd.channel_id, ts: sent.ts!, instanceId: instance.id, sectionKey, page });
        posted.push(sent.ts!);
      }
      // A tick between drawing and recording these pages redrew only the copies already recorded: catch up.
      const now = await renderChecklist(deps, instance.id);
      if (pages.some((blocks, i) => JSON.stringify(now.find((m) => m.channel === cmd.channel_id && m.ts === posted[i])?.blocks) !== JSON.stringify(blocks))) await redraw(instance.id);
    } catch (err) {
      deps.log.warn({ err }, 'posting a checklist failed');
      const code = (err as { data?: { error?: string } }).data?.error;
      const text = code === 'not_in_channel' || code === 'channel_not_found' ? 'I cannot post in this channel: invite me with `/invite @Preflight`, or use a public channel.' : errorText(err);
      await respond({ response_type: 'ephemeral', text });
    }
  });

  app.action(CHECKLIST_ACTIONS.tick, async ({ ack, body, action, respond, client }: TickArgs) => {
    const user = body.user.id;
    const id = instanceOfBlock(action.block_id);
    const seen = shownSelection(body, action.block_id, action.action_id);
    const tell = async (text: string) => {
      if (body.response_url) await respond({ response_type: 'ephemeral', replace_original: false, text });
      else await client.chat.postMessage({ channel: user, text });
    };
    // The change is stored before Slack hears back, so an acknowledged click is a saved click.
    let outcome: { result?: ChangeResult; runbook?: Runbook; instance?: Instance; error?: unknown } = {};
    // The selection is the clicker's whole new state of the element: one option that cannot be read would read
    // as "unticked", so such a click changes nothing.
    const selected = (action.selected_options ?? []).map((o) => (typeof o?.value === 'string' ? o.value : undefined));
    if (selected.includes(undefined)) outcome = { error: new UserError('That click could not be read, so nothing was changed: try again.') };
    else if (id && seen) {
      outcome = await withTimeout(applyTick(deps, { id, user, seen, selected: selected as string[], source: body.view ? 'home' : 'slack' }), ACK_BUDGET_MS).catch((error: unknown) => ({ error }));
    }
    await ack();
    if (!id || !seen) return tell('This checklist view is out of date; post it again with `/checklist`.');
    if (outcome.error) {
      if (!(outcome.error instanceof UserError)) deps.log.warn({ err: outcome.error }, 'tick failed');
      await tell(errorText(outcome.error));
    } else if (outcome.result?.archived && outcome.instance) {
      // A message posted before the checklist was archived: its boxes are redrawn as they were, and nothing changes.
      const { name, id: ref } = outcome.instance;
      await tell(`🗄 *${escapeMrkdwn(name)}* is archived: its items can no longer be ticked. \`/checklist history ${escapeCode(ref)}\` shows its history.`);
    } else if (outcome.result?.refused.length && outcome.runbook) {
      const runbook = outcome.runbook;
      const names = outcome.result.refused.map((r) => `_${runbook.tasks.find((t) => t.key === r.key)?.mrkdwn ?? r.key}_ (ticked by ${userMention(r.by)})`);
      await tell(`🔒 This checklist is locked to owners: only whoever ticked an item, or an admin, may untick it. Kept: ${names.join(', ')}`);
    }
    // After a failure too (the click may not have been stored, or its redraw not marked): the clicker's view may be wrong.
    if (!outcome.result && id) await redraw(id);
    if (body.view) await publishHome(deps, client, user).catch((err) => deps.log.warn({ err }, 'home not republished'));
  });

  // Archive is confirmed with a button; who may is checked again on the click, and archiving twice is harmless.
  app.action(CHECKLIST_ACTIONS.archiveConfirm, async ({ ack, body, action, respond }) => {
    await ack();
    const user = body.user.id;
    try {
      const { id } = archiveRef.parse(JSON.parse((action as ButtonAction).value ?? '{}'));
      const instance = await getInstance(deps.db, id);
      if (!instance) throw new UserError(`The checklist \`${escapeCode(id)}\` no longer exists.`);
      if (!canArchive(instance, user, deps.config.ADMIN_USERS)) throw new UserError(`Only whoever created \`${escapeCode(id)}\` or an admin may archive it.`);
      const archived = await archiveInstance(deps.db, { id, actor: user, source: 'slack' }, deps.now());
      await respond({ replace_original: true, text: `🗄 ${archived ? 'Archived' : 'Already archived:'} *${escapeMrkdwn(instance.name)}* (\`${escapeCode(id)}\`). Its history stays: \`/checklist history ${escapeCode(id)}\`.` });
    } catch (err) {
      if (!(err instanceof UserError)) deps.log.warn({ err }, 'archive failed');
      await respond({ replace_original: false, response_type: 'ephemeral', text: errorText(err) });
    }
  });
  app.action(CHECKLIST_ACTIONS.archiveCancel, async ({ ack, action, respond }) => {
    await ack();
    const { id } = archiveRef.parse(JSON.parse((action as ButtonAction).value ?? '{}'));
    await respond({ replace_original: true, text: `Kept \`${escapeCode(id)}\`; nothing changed.` });
  });

  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    await publishHome(deps, client, event.user);
  });
}
