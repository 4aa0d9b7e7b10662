import type { App, BlockAction, ButtonAction, SlackActionMiddlewareArgs, AllMiddlewareArgs } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import { withTimeout } from '../db/db.ts';
import type { Deps } from '../deps.ts';
import { fallbackText } from '../runbooks/blocks.ts';
import { section } from '../slack/blocks.ts';
import { errorText, UserError } from '../slack/errors.ts';
import { escapeCode, escapeMrkdwn, slackDate, userMention } from '../slack/mrkdwn.ts';
import { atBlocks, calendarBlocks, historyBlocks, homeBlocks, nowBlocks, ONCALL_ACTIONS, ONCALL_HELP, scheduleBlocks, swapDecidedBlocks, swapRequestBlocks, type NowRow } from './blocks.ts';
import { calendarIcs, tokenMatches } from './calendar.ts';
import { Rotations } from './config.ts';
import { defineOncallJobs, scheduleSyncs } from './jobs.ts';
import { effectiveShifts, handoffAt, onCallAt, parseWhen, plan, shift, shiftIndexAt, shiftsBetween, type Plan, type Rotation } from './rotation.ts';
import { addOverride, calendarToken, decideSwap, history, overridesBetween, requestSwap, type Swap } from './store.ts';

/** Slack's answer window is 3 s; database work for an acknowledgement gets most of it. */
const ACK_BUDGET_MS = 2500;
const WEEK = 7 * 86_400_000;
const MAX_SCHEDULE_WEEKS = 26;
const MAX_OVERRIDE_DAYS = 92;

interface Reply {
  blocks: KnownBlock[];
  text: string;
}
const reply = (blocks: KnownBlock[]): Reply => ({ blocks, text: fallbackText(blocks) });
const say = (mrkdwn: string): Reply => reply([section(mrkdwn)]);

const MENTION = /^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$/;
const BARE_ID = /^[UW][A-Z0-9]{2,}$/;

/** A user argument: Slack's escaped mention (`<@U123|bob>`, `<@U123>`) or a bare user id. */
export function parseUser(word: string | undefined): string | undefined {
  if (!word) return undefined;
  const m = MENTION.exec(word);
  if (m) return m[1];
  return BARE_ID.test(word) ? word : undefined;
}

/** The running app's rotations, for tests and the CLI. */
export const oncallRotations = new WeakMap<Deps, Rotations>();

/** On-call state read for a command: the rotations with their plans and the overrides in a window. */
class View {
  private plans = new Map<string, Plan>();
  constructor(readonly deps: Deps, readonly rotations: Rotations) {}

  all(): Rotation[] {
    return this.rotations.all();
  }

  plan(r: Rotation): Plan {
    const cached = this.plans.get(r.id);
    if (cached && cached.rotation === r) return cached;
    const p = plan(r);
    this.plans.set(r.id, p);
    return p;
  }

  /** A rotation named by id (or name, case-insensitively); undefined when the word names none. */
  find(word: string | undefined): Rotation | undefined {
    if (!word) return undefined;
    const w = word.toLowerCase();
    return this.all().find((r) => r.id === w) ?? this.all().find((r) => r.name.toLowerCase() === w);
  }

  /** The rotation a command means: the one named, or the only one there is; else a clear error. */
  require(word: string | undefined): Rotation {
    const named = this.find(word);
    if (named) return named;
    const all = this.all();
    if (word) throw new UserError(`No rotation \`${escapeCode(word)}\`. Rotations: ${all.map((r) => `\`${escapeCode(r.id)}\``).join(', ') || 'none (add them to `oncall.yml`)'}.`);
    if (all.length === 1) return all[0]!;
    if (!all.length) throw new UserError('No rotations are configured. Add them to `oncall.yml` in the runbooks folder.');
    throw new UserError(`Which rotation? Add one of ${all.map((r) => `\`${escapeCode(r.id)}\``).join(', ')}.`);
  }

  /** Now and next for each rotation. */
  async nowRows(now: Date): Promise<NowRow[]> {
    const all = this.all();
    // Without rotations (most test apps, and installs that do not use on-call) there is nothing to read.
    if (!all.length) return [];
    const overrides = await overridesBetween(this.deps.db, now, new Date(now.getTime() + 60 * 86_400_000), all.map((r) => r.id));
    return all.map((rotation) => {
      const p = this.plan(rotation);
      const mine = overrides.filter((o) => o.rotationId === rotation.id);
      const current = onCallAt(p, mine, now);
      const until = current?.until ?? (shiftIndexAt(p, now) < 0 && rotation.members.length ? handoffAt(p, 0) : undefined);
      const nextWho = until && onCallAt(p, mine, until);
      return {
        rotation,
        now: current && { userId: current.userId, until: current.until, override: Boolean(current.override) },
        next: nextWho && until ? { userId: nextWho.userId, start: until } : undefined,
        startsAt: !current && rotation.members.length ? handoffAt(p, 0) : undefined,
      };
    });
  }
}

/** Reads a date-time from words[i] (and words[i+1] when it is a time of day): how many words it took. */
function takeWhen(words: string[], i: number, zone: string): { at: Date; used: number } | undefined {
  const first = words[i];
  if (!first) return undefined;
  const second = words[i + 1];
  if (second && /^\d\d?:\d\d(:\d\d)?([+-]\d\d(:?\d\d)?|Z)?$/i.test(second)) {
    const at = parseWhen(`${first} ${second.padStart(second.indexOf(':') === 1 ? second.length + 1 : second.length, '0')}`, zone);
    if (at) return { at, used: 2 };
  }
  const at = parseWhen(first, zone);
  return at && { at, used: 1 };
}

const badDate = (word: string | undefined) =>
  new UserError(`\`${escapeCode(word ?? '')}\` is not a date and time. Use \`2026-03-29 09:00\` (read in the rotation's time zone) or ISO 8601 with an offset, \`2026-03-29T09:00+02:00\`.`);

/** What a command asks for besides its ephemeral answer. */
interface Outcome {
  reply: Reply;
  /** A swap request to deliver to its target after the acknowledgement. */
  swap?: { swap: Swap; rotation: Rotation };
}

/** Interprets `/oncall …`. */
async function command(view: View, user: string, text: string): Promise<Outcome> {
  const deps = view.deps;
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [verb = '', ...args] = words;
  const now = deps.now();
  switch (verb.toLowerCase()) {
    case '':
    case 'now':
      return { reply: reply(nowBlocks(await view.nowRows(now))) };
    case 'help':
      return { reply: say(ONCALL_HELP) };
    case 'at': {
      // The rotation, when named, is the last word; a plain time is read in each rotation's own zone.
      const named = args.length > 1 ? view.find(args[args.length - 1]) : undefined;
      const rest = named ? args.slice(0, -1) : args;
      const rotations = named ? [named] : view.all();
      if (!rest.length) throw new UserError('When? `/oncall at 2026-03-29 09:00 [rotation]`.');
      if (!rotations.length) throw new UserError('No rotations are configured. Add them to `oncall.yml` in the runbooks folder.');
      const rows: Array<{ rotation: Rotation; userId?: string; override: boolean }> = [];
      let shown: Date | undefined;
      for (const rotation of rotations) {
        const w = takeWhen(rest, 0, rotation.timezone);
        if (!w || w.used !== rest.length) throw badDate(rest.join(' '));
        shown ??= w.at;
        const overrides = await overridesBetween(deps.db, w.at, new Date(w.at.getTime() + 1), [rotation.id]);
        const who = onCallAt(view.plan(rotation), overrides, w.at);
        rows.push({ rotation, userId: who?.userId, override: Boolean(who?.override) });
      }
      return { reply: reply(atBlocks(shown!, rows)) };
    }
    case 'schedule': {
      let rest = args;
      const named = view.find(rest[0]);
      if (named) rest = rest.slice(1);
      const rotation = named ?? view.require(rest.length && !/^\d+$/.test(rest[0]!) ? rest[0] : undefined);
      const weeks = rest[0] ? Number(rest[0]) : 4;
      if (!Number.isInteger(weeks) || weeks < 1 || weeks > MAX_SCHEDULE_WEEKS) throw new UserError(`Weeks must be a whole number from 1 to ${MAX_SCHEDULE_WEEKS}: \`/oncall schedule ${escapeCode(rotation.id)} 4\`.`);
      const to = new Date(now.getTime() + weeks * WEEK);
      const overrides = await overridesBetween(deps.db, now, to, [rotation.id]);
      return { reply: reply(scheduleBlocks(rotation, weeks, effectiveShifts(view.plan(rotation), overrides, now, to))) };
    }
    case 'override': {
      const target = parseUser(args[0]);
      if (!target) throw new UserError('Who? `/oncall override @user 2026-03-29 09:00 2026-03-30 09:00 [rotation]` (a mention or a user id).');
      const named = args.length > 3 ? view.find(args[args.length - 1]) : undefined;
      const rest = named ? args.slice(1, -1) : args.slice(1);
      const rotation = view.require(named?.id);
      const from = takeWhen(rest, 0, rotation.timezone);
      if (!from) throw badDate(rest[0]);
      const to = takeWhen(rest, from.used, rotation.timezone);
      if (!to) throw badDate(rest[from.used]);
      if (from.used + to.used !== rest.length) throw new UserError(`I did not understand \`${escapeCode(rest.slice(from.used + to.used).join(' '))}\`. \`/oncall help\` shows the usage.`);
      if (to.at <= from.at) throw new UserError('The override must end after it starts.');
      if (to.at <= now) throw new UserError('That window is already over.');
      if (to.at.getTime() - from.at.getTime() > MAX_OVERRIDE_DAYS * 86_400_000) throw new UserError(`An override can cover at most ${MAX_OVERRIDE_DAYS} days; change the rotation in \`oncall.yml\` for longer.`);
      const overrides = await overridesBetween(deps.db, from.at, to.at, [rotation.id]);
      // The people involved: who takes the window, and whoever holds it by rotation or by an earlier override.
      const p = view.plan(rotation);
      const involved = new Set([target, ...shiftsBetween(p, from.at, to.at).map((s) => s.userId), ...effectiveShifts(p, overrides, from.at, to.at).map((s) => s.userId)]);
      if (!involved.has(user) && !deps.config.ADMIN_USERS.includes(user)) {
        throw new UserError(`Only the people involved (${[...involved].map(userMention).join(', ')}) or an admin can set this override. Nothing was changed.`);
      }
      const { created } = await addOverride(deps.db, { rotationId: rotation.id, userId: target, start: from.at, end: to.at, createdBy: user, now });
      await scheduleSyncs(deps, rotation, from.at, to.at);
      return { reply: say(`${created ? '✅' : 'Already set:'} ${userMention(target)} is on call for *${escapeMrkdwn(rotation.name)}* ${slackDate(from.at)} → ${slackDate(to.at)}.`) };
    }
    case 'swap': {
      const target = parseUser(args[0]);
      if (!target) throw new UserError('With whom? `/oncall swap @user 2026-03-30 [rotation]` (a mention or a user id).');
      if (target === user) throw new UserError('That is you: name someone else to take the shift.');
      const named = args.length > 2 ? view.find(args[args.length - 1]) : undefined;
      const rest = named ? args.slice(1, -1) : args.slice(1);
      const candidates = named ? [named] : view.all();
      const found: Array<{ rotation: Rotation; start: Date; end: Date }> = [];
      for (const rotation of candidates) {
        const w = takeWhen(rest, 0, rotation.timezone);
        if (!w || w.used !== rest.length) throw badDate(rest.join(' '));
        // A date alone means any of the requester's shifts overlapping that day in the rotation's zone.
        const dayEnd = w.used === 1 && !rest[0]!.includes('T') ? new Date(parseWhen(nextDay(rest[0]!), rotation.timezone)!.getTime()) : new Date(w.at.getTime() + 1);
        const p = view.plan(rotation);
        const k = Math.max(0, shiftIndexAt(p, w.at));
        for (let i = k; i <= k + 400; i++) {
          const s = shift(p, i);
          if (!s || s.start >= dayEnd) break;
          if (s.userId === user && s.end > w.at && s.end > s.start) {
            found.push({ rotation, start: s.start, end: s.end });
            break;
          }
        }
      }
      if (!found.length) throw new UserError(`You have no shift on \`${escapeCode(rest.join(' '))}\`${named ? ` in *${escapeMrkdwn(named.name)}*` : ''}. \`/oncall schedule\` shows who is on call when.`);
      if (found.length > 1) throw new UserError(`You have shifts in several rotations then: add one of ${found.map((f) => `\`${escapeCode(f.rotation.id)}\``).join(', ')}.`);
      const f = found[0]!;
      if (f.end <= now) throw new UserError('That shift is already over.');
      const { swap, created } = await requestSwap(deps.db, { rotationId: f.rotation.id, requester: user, target, shiftStart: f.start, shiftEnd: f.end, now });
      const text = `${created ? 'Asked' : 'Already asked'} ${userMention(target)} to take your *${escapeMrkdwn(f.rotation.name)}* shift ${slackDate(f.start)} → ${slackDate(f.end)}. You will hear when they answer.`;
      return { reply: say(text), swap: created ? { swap, rotation: f.rotation } : undefined };
    }
    case 'calendar': {
      const rotations = args[0] ? [view.require(args[0])] : view.all();
      if (!rotations.length) throw new UserError('No rotations are configured. Add them to `oncall.yml` in the runbooks folder.');
      const base = (deps.config.PUBLIC_URL ?? `http://localhost:${deps.config.PORT}`).replace(/\/$/, '');
      const links = [];
      for (const rotation of rotations) links.push({ rotation, url: `${base}/oncall/${encodeURIComponent(rotation.id)}.ics?token=${await calendarToken(deps.db, rotation.id)}` });
      return { reply: reply(calendarBlocks(links, Boolean(deps.config.PUBLIC_URL))) };
    }
    case 'history': {
      const rotation = args[0] ? view.require(args[0]) : undefined;
      const names = (id: string) => view.find(id)?.name ?? id;
      return { reply: reply(historyBlocks(rotation?.name, await history(deps.db, rotation?.id), names)) };
    }
    default: {
      const rotation = view.find(verb);
      if (rotation && !args.length) return { reply: reply(nowBlocks((await view.nowRows(now)).filter((r) => r.rotation === rotation))) };
      throw new UserError(`I do not know \`${escapeCode(verb)}\`.\n${ONCALL_HELP}`);
    }
  }
}

/** The day after an ISO date (for "a shift on that date"). */
function nextDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  return new Date(d.getTime() + 86_400_000).toISOString().slice(0, 10);
}

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

/** Registers /oncall, the swap buttons, the handoff jobs, the calendar route, deps.onCall and the App Home part. */
export function register(app: App, deps: Deps): void {
  const rotations = new Rotations(deps.config.RUNBOOKS_DIR, deps.log);
  rotations.load();
  rotations.watch();
  oncallRotations.set(deps, rotations);
  deps.onStop.push(async () => rotations.close());
  const view = new View(deps, rotations);
  defineOncallJobs(deps, rotations, app.client);

  deps.onCall = async (at) => {
    const rows = await view.nowRows(at);
    return rows.flatMap((r) => (r.now ? [{ rotationId: r.rotation.id, rotationName: r.rotation.name, userId: r.now.userId }] : []));
  };

  deps.home.push(async (user) => {
    if (!view.all().length) return [];
    const now = deps.now();
    const rows = await view.nowRows(now);
    const horizon = new Date(now.getTime() + 8 * WEEK);
    const overrides = await overridesBetween(deps.db, now, horizon, view.all().map((r) => r.id));
    let mine: { rotation: Rotation; start: Date; end: Date; now: boolean } | undefined;
    for (const rotation of view.all()) {
      const piece = effectiveShifts(view.plan(rotation), overrides.filter((o) => o.rotationId === rotation.id), now, horizon).find((p) => p.userId === user);
      if (piece && (!mine || piece.start < mine.start)) mine = { rotation, start: piece.start, end: piece.end, now: piece.start <= now };
    }
    return homeBlocks(rows, mine);
  });

  // Display names for the calendar feed (cached: a feed is fetched often, names rarely change).
  const names = new Map<string, string>();
  const nameOf = async (id: string) => {
    if (!names.has(id)) {
      const info = await app.client.users.info({ user: id }).catch(() => undefined);
      const u = info?.user as { real_name?: string; name?: string } | undefined;
      names.set(id, u?.real_name || u?.name || id);
    }
    return names.get(id)!;
  };

  deps.routes.push({
    path: '/oncall/:file',
    method: 'GET',
    async handler(req, res) {
      const notFound = () => void res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      const m = /^(.+)\.ics$/.exec(req.params.file ?? '');
      const rotation = m ? rotations.get(m[1]!) : undefined;
      const presented = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token');
      // Wrong or missing token and unknown rotation look the same: nothing is revealed.
      if (!rotation || !tokenMatches(presented, await calendarToken(deps.db, rotation.id))) return notFound();
      const now = deps.now();
      const overrides = await overridesBetween(deps.db, new Date(now.getTime() - 15 * 86_400_000), new Date(now.getTime() + 93 * 86_400_000), [rotation.id]);
      const people = [...new Set([...rotation.members, ...overrides.map((o) => o.userId)])];
      const named = new Map(await Promise.all(people.map(async (id) => [id, await nameOf(id)] as const)));
      const ics = calendarIcs({ rotation, overrides, now, nameOf: (id) => named.get(id) ?? id });
      res.writeHead(200, { 'content-type': 'text/calendar; charset=utf-8', 'cache-control': 'private, max-age=300' });
      res.end(ics);
    },
  });

  app.command('/oncall', async ({ command: cmd, ack, client }) => {
    let outcome: Outcome;
    try {
      outcome = await withTimeout(command(view, cmd.user_id, cmd.text), ACK_BUDGET_MS);
    } catch (err) {
      if (!(err instanceof UserError)) deps.log.warn({ err }, '/oncall failed');
      await ack({ response_type: 'ephemeral', text: errorText(err) });
      return;
    }
    await ack({ response_type: 'ephemeral', ...outcome.reply });
    if (outcome.swap) {
      const blocks = swapRequestBlocks(outcome.swap.swap, outcome.swap.rotation);
      await client.chat.postMessage({ channel: outcome.swap.swap.target, blocks, text: fallbackText(blocks) }).catch((err) => deps.log.warn({ err: (err as Error).message }, 'swap request not delivered'));
    }
  });

  const decide = (accept: boolean) => async ({ ack, body, action, respond, client }: ButtonArgs) => {
    const user = body.user.id;
    let id = NaN;
    try {
      id = Number((JSON.parse(action.value ?? '{}') as { swap?: unknown }).swap);
    } catch {
      // a malformed value is answered below like an unknown swap
    }
    const result = Number.isInteger(id) ? await withTimeout(decideSwap(deps.db, { id, by: user, accept, now: deps.now() }), ACK_BUDGET_MS).catch((error: unknown) => ({ error })) : { error: new UserError('This request is not valid any more.') };
    await ack();
    const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    if ('error' in result) return void (await tell(errorText(result.error)));
    const swap = result.swap;
    const rotation = swap && rotations.get(swap.rotationId);
    if (!swap || !rotation) return void (await tell('This swap request is not valid any more (its rotation is gone).'));
    if (!result.decided) {
      if (swap.target !== user) return void (await tell(`Only ${userMention(swap.target)} can answer this request. Nothing was changed.`));
      return void (await tell(`You already ${swap.state} this request.`));
    }
    const blocks = swapDecidedBlocks(swap, rotation);
    await respond({ replace_original: true, blocks, text: fallbackText(blocks) });
    if (swap.state === 'accepted') await scheduleSyncs(deps, rotation, swap.shiftStart, swap.shiftEnd);
    await client.chat.postMessage({ channel: swap.requester, blocks, text: fallbackText(blocks) }).catch((err) => deps.log.warn({ err: (err as Error).message }, 'swap answer not delivered'));
  };
  app.action(ONCALL_ACTIONS.swapAccept, decide(true));
  app.action(ONCALL_ACTIONS.swapDecline, decide(false));
}
