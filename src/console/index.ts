import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { boot } from '../boot.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { FakeSlack, type FakeMessage } from './fakeSlack.ts';
import { mrkdwnToText, renderBlocks, type Target } from './render.ts';
import { SlackSimulator, type SlackUser } from './simulator.ts';

const HELP = `Type a slash command as in Slack: /runbook, /runbook production-readiness, /runbook search backup, /oncall …
  <n>            press button n, or tick/untick checkbox n
  <n> <choice>   pick a choice from menu n
  /as <name>     act as another user (e.g. /as alice)
  /home          open your App Home tab
  (a form)       answer each field at its prompt; Enter leaves an optional one empty, "cancel" closes it
  help           this text;  quit  to leave`;

interface ModalField {
  blockId: string;
  actionId: string;
  label: string;
  optional: boolean;
}

/** The text inputs of a modal, in order, as prompts. */
function modalFields(blocks: unknown[]): ModalField[] {
  return (blocks as Array<{ type: string; block_id?: string; optional?: boolean; label?: { text: string }; element?: { type: string; action_id?: string } }>)
    .filter((b) => b.type === 'input' && b.element?.type === 'plain_text_input')
    .map((b) => ({ blockId: b.block_id ?? '', actionId: b.element!.action_id ?? '', label: b.label?.text ?? b.block_id ?? '', optional: !!b.optional }));
}

/** Turns a name into a stable Slack-like user id, so /as alice is always the same person. */
export function userFor(name: string): SlackUser {
  const clean = name.replace(/^@/, '').toLowerCase();
  return { id: `U${clean.toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 10) || 'ANON'}`, name: clean };
}

/**
 * The local console: Preflight's real HTTP receiver and listeners on the embedded database, a local fake
 * Slack that draws what they send, and a prompt that sends signed commands and clicks like Slack would.
 */
export async function startConsole(config: Config, log: Logger, logFile?: string): Promise<void> {
  const slack = new FakeSlack();
  await slack.start();
  const secret = randomBytes(24).toString('hex');
  const preflight = await boot(config, { mode: 'http', token: 'xoxb-console', signingSecret: secret, port: 0, host: '127.0.0.1', apiUrl: slack.apiUrl }, { log });
  const sim = new SlackSimulator(`http://127.0.0.1:${preflight.port}/slack/events`, secret, slack);
  const channel = 'C0CONSOLE';
  let user = userFor(process.env.USER && process.env.USER !== 'root' ? process.env.USER : 'you');
  // users.info answers with the names typed here, so answers say @bob as Slack shows a mention.
  slack.users.set(user.id, user.name);
  const names = (id: string) => slack.users.get(id);
  let drawings = 0;
  let focus: { targets: Target[]; message?: FakeMessage; view?: Record<string, unknown> } = { targets: [] };
  // A modal (views.open) is filled in field by field at the prompt, then submitted like Slack would.
  let modal: { view: Record<string, unknown>; fields: ModalField[]; at: number; values: Record<string, Record<string, string>> } | undefined;
  const PROMPT = 'preflight> ';
  const askNext = () => {
    const field = modal?.fields[modal.at];
    rl.setPrompt(field ? `  ${field.label}${field.optional ? ' (optional)' : ''}> ` : PROMPT);
  };

  const show = (blocks: unknown[] | undefined, text: string | undefined, where: { message?: FakeMessage; view?: Record<string, unknown> }) => {
    const drawn = renderBlocks(blocks ?? [], 1, true, names);
    drawings++;
    // A message of text alone (a DM, a notice) is mrkdwn too: dates, mentions and bold drawn as for blocks.
    console.log(`\n${drawn.text || mrkdwnToText(text ?? '', true, names)}\n`);
    focus = { targets: drawn.targets, ...where };
  };
  slack.on('message', (m) => {
    if (m.ephemeral && m.user && m.user !== user.id) return;
    // Thread replies are shown under their message, which keeps its buttons on screen.
    if (m.thread_ts) return void console.log(`  ↳ ${mrkdwnToText(m.text ?? '', true, names)}`);
    show(m.blocks, m.text, { message: m });
  });
  slack.on('view', (who, view) => {
    if (who === user.id) show((view as { blocks?: unknown[] }).blocks, undefined, { view: view as Record<string, unknown> });
    if (who === 'modal') {
      const v = view as Record<string, unknown> & { title?: { text: string }; blocks?: unknown[] };
      const fields = modalFields(v.blocks ?? []);
      console.log(`\n┏━ ${v.title?.text ?? 'Form'} ━━  (answer each field; "cancel" closes the form)\n${renderBlocks((v.blocks ?? []).filter((b) => (b as { type: string }).type !== 'input'), 1, true).text}`);
      modal = { view: v, fields, at: 0, values: {} };
      askNext();
      rl.prompt();
    }
  });

  const count = preflight.deps.library.all().length;
  console.log(`Preflight console — ${count} runbook${count === 1 ? '' : 's'} from ${config.RUNBOOKS_DIR}, database: ${preflight.deps.db.kind}`);
  if (logFile) console.log(`Logs go to ${logFile}.`);
  console.log(`You are @${user.name}. ${HELP}\n`);
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: PROMPT });
  rl.prompt();
  for await (const line of rl) {
    const input = line.trim();
    try {
      if (modal) await answer(input);
      else if (input === 'quit' || input === 'exit') break;
      // A form's answers are not commands: "5" or "help" typed into a field must not press or print anything.
      else if (input === 'help' || input === '?') console.log(HELP);
      else if (input.startsWith('/as ')) {
        user = userFor(input.slice(4).trim());
        slack.users.set(user.id, user.name);
        console.log(`You are now @${user.name} (${user.id}).`);
      } else if (input === '/home') {
        await sim.event({ type: 'app_home_opened', user: user.id, channel: 'D0HOME', tab: 'home', event_ts: String(Date.now() / 1000) }, `Ev${Date.now()}`);
      } else if (input.startsWith('/')) {
        const [command = '', ...rest] = input.split(/\s+/);
        // Slack escapes @mentions in commands (should_escape) into <@U…|name>; the console does the same.
        // @here, @channel and @everyone are special mentions, which Slack escapes as <!here>, not as a user.
        const text = rest
          .join(' ')
          .replace(/(^|\s)@(here|channel|everyone)\b/g, '$1<!$2>')
          .replace(/(^|\s)@(?!nobody\b)([\w.-]+)/g, (_, sp: string, name: string) => {
            slack.users.set(userFor(name).id, userFor(name).name);
            return `${sp}<@${userFor(name).id}|${name}>`;
          });
        const res = await sim.command(command, text, user, channel);
        if (res.status !== 200) console.log(`Slack would show an error (HTTP ${res.status}): is ${command} a Preflight command? Try /runbook help.`);
        else if (res.body && typeof res.body === 'object') {
          // An acknowledgement with content is what Slack shows as the reply.
          const body = res.body as { blocks?: unknown[]; text?: string; response_type?: string };
          slack.reply(slack.responseUrl(user.id, channel), channel, user.id, body as Record<string, unknown>);
        }
      } else if (/^\d+(\s+\d+)?$/.test(input)) {
        // A click is acknowledged before its redraw: wait for the redraw so it lands before the prompt.
        const before = drawings;
        if (await act(input)) {
          const until = Date.now() + 3000;
          while (drawings === before && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
        }
      } else if (input) console.log('Not a command. Type help.');
    } catch (err) {
      console.log(`Error: ${(err as Error).message}`);
    }
    // Give listeners that answer after acknowledging a moment to draw before the prompt returns.
    await new Promise((r) => setTimeout(r, 150));
    rl.prompt();
  }
  rl.close();
  await preflight.stop();
  await slack.stop();

  /** One answer to the open form's current field; the last one submits it. */
  async function answer(input: string): Promise<void> {
    const form = modal!;
    if (input.toLowerCase() === 'cancel') {
      modal = undefined;
      console.log('Form closed; nothing sent.');
      return askNext();
    }
    const field = form.fields[form.at]!;
    if (!input && !field.optional) return void console.log(`  ${field.label} is required.`);
    form.values[field.blockId] = { [field.actionId]: input };
    form.at++;
    if (form.at < form.fields.length) return askNext();
    modal = undefined;
    askNext();
    const res = await sim.submit(user, form.view, form.values);
    const body = res.body as { response_action?: string; errors?: Record<string, string> } | undefined;
    if (body?.response_action === 'errors') {
      // Slack keeps the form open with the errors shown; the console asks the failing fields again.
      for (const [block, error] of Object.entries(body.errors ?? {})) console.log(`  ⚠️ ${form.fields.find((f) => f.blockId === block)?.label ?? block}: ${error}`);
      const failing = form.fields.filter((f) => body.errors?.[f.blockId]);
      modal = { ...form, fields: [...form.fields.filter((f) => !body.errors?.[f.blockId]), ...failing], at: form.fields.length - failing.length };
      askNext();
    }
  }

  /** Presses or ticks what input names; true when something was sent (a drawing follows). */
  async function act(input: string): Promise<boolean> {
    const [n, choice] = input.split(/\s+/).map(Number);
    const target = focus.targets.find((t) => t.n === n);
    if (!target) {
      console.log(`No [${n}] on screen.`);
      return false;
    }
    const where = { message: focus.message, view: focus.view };
    if (target.kind === 'button') await sim.press(user, { action_id: target.actionId, value: target.value, block_id: target.blockId }, where);
    else if (target.kind === 'select') {
      const option = target.options?.[(choice ?? 0) - 1];
      if (!option) {
        console.log(`Type "${n} <choice>" with a choice from 1 to ${target.options?.length ?? 0}.`);
        return false;
      }
      await sim.select(user, { action_id: target.actionId, block_id: target.blockId }, option, where);
    } else if (target.option && target.element) {
      // Slack sends the whole selection of the element as this client sees it, with this box flipped.
      const on = target.element.initial.some((o) => o.value === target.option!.value);
      const selected = on ? target.element.initial.filter((o) => o.value !== target.option!.value) : [...target.element.initial, target.option];
      await sim.check(user, { action_id: target.actionId, block_id: target.blockId }, selected, where);
    }
    return true;
  }
}
