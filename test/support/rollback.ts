import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeMessage } from '../../src/console/fakeSlack.ts';
import type { SlackUser } from '../../src/console/simulator.ts';
import { eventually, runbooksDir, SEED, type TestApp } from './harness.ts';

// Helpers for the rollback tests: drive /rollback, its buttons and its forms as Slack would.

export const CHANNEL = 'CINCIDENT';

interface AnyBlock {
  type: string;
  block_id?: string;
  text?: { text: string };
  elements?: Array<{ type: string; action_id?: string; value?: string; text?: { text: string } | string }>;
}

/** A runbooks folder with the seed (as given) and any extra files. */
export function seedDir(extra: Record<string, string> = {}): string {
  const dir = runbooksDir({ 'production-readiness.md': '', ...extra });
  cpSync(SEED, join(dir, 'production-readiness.md'));
  return dir;
}

/** Runs a command and returns its acknowledgement body (what Slack shows the user). */
export async function command(app: TestApp, text: string, user: SlackUser, channel = CHANNEL): Promise<{ text?: string; blocks?: AnyBlock[] }> {
  const res = await app.sim.command('/rollback', text, user, channel);
  assert.equal(res.status, 200, `/rollback ${text} answered`);
  return (res.body ?? {}) as { text?: string; blocks?: AnyBlock[] };
}

/** Shows an acknowledgement as the ephemeral message Slack makes of it, so its buttons can be pressed. */
export function asEphemeral(app: TestApp, body: Record<string, unknown>, user: SlackUser, channel = CHANNEL): FakeMessage {
  const url = app.slack.responseUrl(user.id, channel);
  app.slack.reply(url, channel, user.id, body);
  return [...app.slack.messages.values()].find((m) => m.responseUrl === url)!;
}

/** Every button in a message. */
export function buttons(blocks: unknown[] | undefined): Array<{ action_id: string; value?: string; block_id?: string; text: string }> {
  return ((blocks ?? []) as AnyBlock[]).flatMap((b) =>
    b.type === 'actions' ? (b.elements ?? []).filter((e) => e.type === 'button').map((e) => ({ action_id: e.action_id!, value: e.value, block_id: b.block_id, text: typeof e.text === 'string' ? e.text : e.text?.text ?? '' })) : [],
  );
}

export function button(blocks: unknown[] | undefined, actionId: string) {
  const found = buttons(blocks).find((b) => b.action_id === actionId);
  assert.ok(found, `button ${actionId} in ${JSON.stringify(blocks).slice(0, 300)}`);
  return found;
}

/** The posted run message (not a thread reply) in the channel, newest first. */
export function runMessages(app: TestApp, channel = CHANNEL): FakeMessage[] {
  return app.slack.channelMessages(channel).filter((m) => !m.thread_ts && /Rollback #\d+/.test(m.text ?? '')).reverse();
}

/** Thread replies of a message, oldest first. */
export function thread(app: TestApp, parent: FakeMessage): string[] {
  return app.slack.channelMessages(parent.channel).filter((m) => m.thread_ts === parent.ts).map((m) => m.text ?? '');
}

/** The newest modal opened since `before` modals were open. */
export async function modalAfter(app: TestApp, before: number): Promise<Record<string, unknown>> {
  return eventually(() => {
    assert.ok(app.slack.modals.length > before, 'a modal opened');
    return app.slack.modals.at(-1)!.view;
  });
}

/** Starts a run through `/rollback start` (or rehearse) and its form; resolves with the posted run message. */
export async function startRun(app: TestApp, user: SlackUser, opts: { verb?: 'start' | 'rehearse'; reason?: string; values?: Record<string, string>; channel?: string } = {}): Promise<FakeMessage> {
  const channel = opts.channel ?? CHANNEL;
  const before = app.slack.modals.length;
  const posted = runMessages(app, channel).length;
  await command(app, opts.verb ?? 'start', user, channel);
  const view = await modalAfter(app, before);
  const values: Record<string, Record<string, string>> = { reason: { value: opts.reason ?? '' } };
  for (const [k, v] of Object.entries(opts.values ?? {})) values[`ph:${k}`] = { value: v };
  const res = await app.sim.submit(user, view, values);
  assert.equal(res.status, 200, 'the form is accepted');
  assert.ok(!res.body, `no form errors: ${JSON.stringify(res.body)}`);
  return eventually(() => {
    const all = runMessages(app, channel);
    assert.ok(all.length > posted, 'the run is posted');
    return all[0]!;
  });
}

/** The id of the run a message shows. */
export function runIdOf(m: FakeMessage): number {
  return Number(/Rollback #(\d+)/.exec(m.text ?? '')![1]);
}
