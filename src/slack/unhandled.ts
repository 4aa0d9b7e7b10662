import type { App } from '@slack/bolt';
import type { Deps } from '../deps.ts';
import { escapeCode } from './mrkdwn.ts';

type Matcher = string | RegExp | Record<string, unknown>;

function matches(m: Matcher, id: string | undefined, field: string): boolean {
  if (id === undefined) return false;
  if (typeof m === 'string') return m === id;
  if (m instanceof RegExp) return m.test(id);
  const want = m[field];
  return want === undefined || (typeof want === 'string' ? want === id : want instanceof RegExp && want.test(id));
}

/**
 * One catch-all for what no listener handles (a manifest command before its capability exists, a button on
 * an old message after an upgrade): it is acknowledged with a short explanation instead of timing out in
 * Slack. The set of handled ids is read from the listeners as they are registered, so it cannot drift.
 */
export function answerUnhandled(app: App, deps: Deps): void {
  const seen = { command: [] as Matcher[], action: [] as Matcher[], view: [] as Matcher[], shortcut: [] as Matcher[] };
  for (const kind of Object.keys(seen) as Array<keyof typeof seen>) {
    const original = (app[kind] as (...a: unknown[]) => unknown).bind(app);
    (app as unknown as Record<string, unknown>)[kind] = (matcher: Matcher, ...rest: unknown[]) => {
      seen[kind].push(matcher);
      return original(matcher, ...rest);
    };
  }

  app.use(async (args) => {
    const { body, next, client } = args;
    // ack and respond exist for the kinds of request they are used with below.
    const { ack, respond } = args as unknown as { ack?: (r?: unknown) => Promise<void>; respond?: (r: unknown) => Promise<unknown> };
    const b = body as Record<string, any>;
    const user: string | undefined = b.user_id ?? b.user?.id;
    const dm = async (text: string) => {
      if (user) await client.chat.postMessage({ channel: user, text }).catch((err) => deps.log.warn({ err: (err as Error).message }, 'could not explain an unhandled request'));
    };
    if (typeof b.command === 'string') {
      if (seen.command.some((m) => matches(m, b.command, 'command'))) return next();
      deps.log.info({ command: b.command }, 'slash command with no listener answered');
      await ack?.({ response_type: 'ephemeral', text: `\`${escapeCode(b.command)}\` is not available in this version of Preflight yet. \`/runbook help\` and \`/checklist help\` say what is.` });
      return;
    }
    if (b.type === 'block_actions') {
      const actions = (b.actions ?? []) as Array<{ action_id?: string; block_id?: string }>;
      if (actions.some((a) => seen.action.some((m) => matches(m, a.action_id, 'action_id')))) return next();
      deps.log.info({ actions: actions.map((a) => a.action_id) }, 'action with no listener answered');
      await ack?.();
      const text = 'This button is from an older version of Preflight and does nothing now: run the command again for a fresh message.';
      if (b.response_url && respond) await respond({ response_type: 'ephemeral', replace_original: false, text }).catch(() => dm(text));
      else await dm(text);
      return;
    }
    if (b.type === 'view_submission' || b.type === 'view_closed') {
      if (seen.view.some((m) => matches(m, b.view?.callback_id, 'callback_id'))) return next();
      await ack?.();
      if (b.type === 'view_submission') await dm('That form is from an older version of Preflight and was not saved: run the command again.');
      return;
    }
    if (b.type === 'shortcut' || b.type === 'message_action') {
      if (seen.shortcut.some((m) => matches(m, b.callback_id, 'callback_id'))) return next();
      await ack?.();
      await dm('That shortcut is not available in this version of Preflight.');
      return;
    }
    return next();
  });
}
