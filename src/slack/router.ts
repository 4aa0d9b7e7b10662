import type { AllMiddlewareArgs, App } from '@slack/bolt';
import type { Deps } from '../deps.ts';
import { escapeCode } from './mrkdwn.ts';

type Kind = 'command' | 'action' | 'view' | 'shortcut';
type Matcher = string | RegExp | Record<string, unknown>;
type Handler = (args: Record<string, unknown>) => Promise<unknown> | unknown;

/** The field of a constraint object each kind is matched on (Bolt's ActionConstraints, ViewConstraints, …). */
const FIELD: Record<Kind, string> = { command: 'command', action: 'action_id', view: 'callback_id', shortcut: 'callback_id' };

function matches(m: Matcher, id: string | undefined, field: string, type: string): boolean {
  if (id === undefined) return false;
  // As in Bolt, a view listener is for submissions unless its constraints say `type: 'view_closed'`.
  if (field === 'callback_id' && type.startsWith('view_') && type !== ((typeof m === 'object' && !(m instanceof RegExp) && m.type) || 'view_submission')) return false;
  if (typeof m === 'string') return m === id;
  if (m instanceof RegExp) return m.test(id);
  const want = m[field];
  return want === undefined || (typeof want === 'string' ? want === id : want instanceof RegExp && want.test(id));
}

/** What a request is, for routing: its kind and the id its listener is registered under. */
function routeOf(b: Record<string, any>): { kind: Kind; id: string | undefined } | undefined {
  if (typeof b.command === 'string') return { kind: 'command', id: b.command };
  if (b.type === 'block_actions') return { kind: 'action', id: b.actions?.[0]?.action_id };
  if (b.type === 'view_submission' || b.type === 'view_closed') return { kind: 'view', id: b.view?.callback_id };
  if (b.type === 'shortcut' || b.type === 'message_action') return { kind: 'shortcut', id: b.callback_id };
  return undefined;
}

/**
 * Commands, buttons, forms and shortcuts reach their listener through one table. Bolt keeps a list and runs
 * every listener's matchers on every request (a checklist click went through some fifty middleware calls,
 * each copying the arguments); here `app.command(…)`, `app.action(…)`, `app.view(…)` and `app.shortcut(…)`
 * fill the table, and one middleware calls what matches, with the arguments Bolt gives a listener.
 * What nothing matches is acknowledged with a short explanation instead of timing out in Slack: a manifest
 * command before its capability exists, a button on an old message after an upgrade. Events (App Home) stay
 * with Bolt's own listeners.
 */
export function routeRequests(app: App, deps: Deps): void {
  const table: Record<Kind, Array<{ matcher: Matcher; handler: Handler }>> = { command: [], action: [], view: [], shortcut: [] };
  for (const kind of Object.keys(table) as Kind[]) {
    (app as unknown as Record<Kind, unknown>)[kind] = (matcher: Matcher, ...handlers: Handler[]) => {
      if (handlers.length !== 1) throw new Error(`app.${kind}(${String(matcher)}): one listener, without listener middleware`);
      table[kind].push({ matcher, handler: handlers[0]! });
    };
  }

  app.use(async (args) => {
    const b = args.body as Record<string, any>;
    const route = routeOf(b);
    if (!route) return args.next();
    const listeners = table[route.kind].filter((l) => matches(l.matcher, route.id, FIELD[route.kind], String(b.type)));
    if (listeners.length) {
      // As Bolt runs listeners: all that match, at once, each with `next` a no-op; a failure reaches app.error.
      const listenerArgs: Record<string, unknown> = { ...args, next: async () => undefined };
      const results = await Promise.allSettled(listeners.map(async (l) => l.handler(listenerArgs)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return;
    }
    await answerUnhandled(deps, route.kind, args as unknown as UnhandledArgs);
  });
}

type UnhandledArgs = AllMiddlewareArgs & { body: Record<string, any>; ack?: (r?: unknown) => Promise<void>; respond?: (r: unknown) => Promise<unknown> };

/** The short answer to a request no listener handles, ephemeral or by DM, so Slack never shows a timeout. */
async function answerUnhandled(deps: Deps, kind: Kind, { body: b, ack, respond, client }: UnhandledArgs): Promise<void> {
  const user: string | undefined = b.user_id ?? b.user?.id;
  const dm = async (text: string) => {
    if (user) await client.chat.postMessage({ channel: user, text }).catch((err) => deps.log.warn({ err: (err as Error).message }, 'could not explain an unhandled request'));
  };
  switch (kind) {
    case 'command':
      deps.log.info({ command: b.command }, 'slash command with no listener answered');
      await ack?.({ response_type: 'ephemeral', text: `\`${escapeCode(b.command)}\` is not available in this version of Preflight yet. \`/runbook help\` and \`/checklist help\` say what is.` });
      return;
    case 'action': {
      deps.log.info({ actions: (b.actions ?? []).map((a: { action_id?: string }) => a.action_id) }, 'action with no listener answered');
      await ack?.();
      const text = 'This button is from an older version of Preflight and does nothing now: run the command again for a fresh message.';
      if (b.response_url && respond) await respond({ response_type: 'ephemeral', replace_original: false, text }).catch(() => dm(text));
      else await dm(text);
      return;
    }
    case 'view':
      await ack?.();
      if (b.type === 'view_submission') await dm('That form is from an older version of Preflight and was not saved: run the command again.');
      return;
    case 'shortcut':
      await ack?.();
      await dm('That shortcut is not available in this version of Preflight.');
      return;
  }
}
