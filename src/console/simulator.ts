import { createHmac } from 'node:crypto';
import type { FakeMessage, FakeSlack } from './fakeSlack.ts';

/** Slack's request signature: v0= + hex HMAC-SHA256 of `v0:{timestamp}:{body}` (api.slack.com/authentication/verifying-requests-from-slack). */
export function sign(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SlackUser {
  id: string;
  name: string;
}

export interface SendResult {
  status: number;
  /** The acknowledgement body, parsed when it is JSON. */
  body: unknown;
}

export interface Selection {
  text: { type: string; text: string };
  value: string;
}

/**
 * Plays Slack's part: sends signed slash commands and interactions to Preflight's endpoint over HTTP, as
 * Slack would, with response_urls on the fake Slack. The console and the tests drive the app through it.
 */
export class SlackSimulator {
  constructor(
    readonly endpoint: string,
    private readonly secret: string,
    readonly slack: FakeSlack,
    readonly team = 'T0PREFLIGHT',
  ) {}

  /** POSTs a signed form body, as Slack does; `headers` may override anything (tests of bad signatures). */
  async post(form: Record<string, string>, headers: Record<string, string> = {}, timestamp = Math.floor(Date.now() / 1000)): Promise<SendResult> {
    const body = new URLSearchParams(form).toString();
    const res = await fetch(this.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': sign(this.secret, timestamp, body),
        ...headers,
      },
      body,
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  }

  /** A slash command from user in channel. */
  command(command: string, text: string, user: SlackUser, channel = 'C0CONSOLE'): Promise<SendResult> {
    return this.post({
      token: 'legacy-verification-token',
      team_id: this.team,
      team_domain: 'preflight',
      channel_id: channel,
      channel_name: 'console',
      user_id: user.id,
      user_name: user.name,
      command,
      text,
      api_app_id: 'A0PREFLIGHT',
      response_url: this.slack.responseUrl(user.id, channel),
      trigger_id: `${Date.now()}.trigger`,
    });
  }

  /** A block_actions payload for an action on a message (channel or ephemeral) or on the Home tab. */
  action(user: SlackUser, action: Record<string, unknown>, where: { message?: FakeMessage; view?: Record<string, unknown>; channel?: string }): Promise<SendResult> {
    const channel = where.message?.channel ?? where.channel ?? 'C0CONSOLE';
    const payload: Record<string, unknown> = {
      type: 'block_actions',
      user: { id: user.id, username: user.name, name: user.name, team_id: this.team },
      api_app_id: 'A0PREFLIGHT',
      token: 'legacy-verification-token',
      team: { id: this.team, domain: 'preflight' },
      trigger_id: `${Date.now()}.trigger`,
      actions: [{ action_ts: String(Date.now() / 1000), ...action }],
    };
    if (where.view) {
      payload.container = { type: 'view', view_id: where.view.id ?? 'VHOME' };
      payload.view = { id: 'VHOME', type: 'home', ...where.view, state: { values: {} } };
    } else if (where.message) {
      const m = where.message;
      payload.container = { type: 'message', message_ts: m.ts, channel_id: channel, is_ephemeral: m.ephemeral };
      payload.channel = { id: channel, name: 'console' };
      // Slack sends the message only when it is not ephemeral: a click on an ephemeral message carries none.
      if (!m.ephemeral) payload.message = { type: 'message', ts: m.ts, text: m.text, blocks: m.blocks, user: 'U0PREFLIGHT' };
      payload.response_url = this.slack.responseUrl(user.id, channel, m);
      payload.state = { values: {} };
    }
    return this.post({ payload: JSON.stringify(payload) });
  }

  /** A button press. */
  press(user: SlackUser, button: { action_id: string; value?: string; block_id?: string }, where: Parameters<SlackSimulator['action']>[2]): Promise<SendResult> {
    return this.action(user, { type: 'button', block_id: button.block_id ?? 'b', action_id: button.action_id, value: button.value, text: { type: 'plain_text', text: 'button' } }, where);
  }

  /** A static select choice. */
  select(user: SlackUser, select: { action_id: string; block_id?: string }, option: Selection, where: Parameters<SlackSimulator['action']>[2]): Promise<SendResult> {
    return this.action(user, { type: 'static_select', block_id: select.block_id ?? 'b', action_id: select.action_id, selected_option: option }, where);
  }

  /** A checkboxes change: `selected` is the clicker's whole selection in that element, as Slack sends it. */
  check(user: SlackUser, element: { action_id: string; block_id?: string }, selected: Selection[], where: Parameters<SlackSimulator['action']>[2]): Promise<SendResult> {
    return this.action(user, { type: 'checkboxes', block_id: element.block_id ?? 'b', action_id: element.action_id, selected_options: selected }, where);
  }

  /**
   * A modal's submission (view_submission), as Slack sends it: `values` is block_id → action_id → value
   * (a plain string becomes a plain_text_input's value). Resolves with the acknowledgement (errors, update).
   */
  submit(user: SlackUser, view: Record<string, unknown>, values: Record<string, Record<string, string | Record<string, unknown>>> = {}): Promise<SendResult> {
    const state: Record<string, Record<string, unknown>> = {};
    for (const [block, actions] of Object.entries(values)) {
      state[block] = Object.fromEntries(Object.entries(actions).map(([a, v]) => [a, typeof v === 'string' ? { type: 'plain_text_input', value: v } : v]));
    }
    const payload = {
      type: 'view_submission',
      team: { id: this.team, domain: 'preflight' },
      user: { id: user.id, username: user.name, name: user.name, team_id: this.team },
      api_app_id: 'A0PREFLIGHT',
      token: 'legacy-verification-token',
      trigger_id: `${Date.now()}.trigger`,
      view: { id: 'VMODAL', team_id: this.team, type: 'modal', private_metadata: '', callback_id: '', ...view, state: { values: state }, hash: 'h', app_id: 'A0PREFLIGHT', bot_id: 'B0PREFLIGHT' },
      response_urls: [],
    };
    return this.post({ payload: JSON.stringify(payload) });
  }

  /** An Events API callback (e.g. app_home_opened), optionally as Slack's nth retry. */
  event(event: Record<string, unknown>, eventId: string, retryNum?: number): Promise<SendResult> {
    const body = JSON.stringify({ token: 'legacy-verification-token', team_id: this.team, api_app_id: 'A0PREFLIGHT', type: 'event_callback', event_id: eventId, event_time: Math.floor(Date.now() / 1000), event });
    const timestamp = Math.floor(Date.now() / 1000);
    return fetch(this.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': sign(this.secret, timestamp, body),
        ...(retryNum ? { 'x-slack-retry-num': String(retryNum), 'x-slack-retry-reason': 'http_timeout' } : {}),
      },
      body,
    }).then(async (res) => ({ status: res.status, body: await res.text() }));
  }
}
