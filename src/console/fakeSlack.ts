import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A message as the fake Slack holds it. */
export interface FakeMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown[];
  thread_ts?: string;
  /** Set for ephemeral messages and response_url replies: who sees it. */
  user?: string;
  ephemeral: boolean;
  /** The response_url that created it, for replace_original. */
  responseUrl?: string;
}

export interface ApiCall {
  method: string;
  body: Record<string, unknown>;
}

/** Checks what a client sends; returns problems (empty when Slack would accept it). */
export type Validator = (kind: 'blocks' | 'view', value: unknown, method: string) => string[];

export interface FakeSlackOptions {
  validate?: Validator;
  /** Answer this many calls of a method with 429 before succeeding (tests Web API retry). */
  rateLimit?: Record<string, number>;
  /** The WebSocket URL `apps.connections.open` hands out, for Socket Mode against a local server. */
  socketUrl?: string;
}

/**
 * A local stand-in for Slack's Web API and response_urls, over real HTTP: the console draws what it
 * receives, tests assert on it. Emits `message` whenever a message is posted, replaced or updated.
 */
export class FakeSlack extends EventEmitter<{ message: [FakeMessage]; view: [string, unknown]; call: [ApiCall] }> {
  readonly messages = new Map<string, FakeMessage>();
  readonly views = new Map<string, unknown>();
  /** Modals opened with views.open (newest last), with the id Slack gave each; views.update replaces by id. */
  readonly modals: Array<{ id: string; triggerId: string; view: Record<string, unknown> }> = [];
  /** Slack names by user id, for users.info (the console and tests register them); others are named by their id in lower case. */
  readonly users = new Map<string, string>();
  /** User group members as last set with usergroups.users.update. */
  readonly usergroups = new Map<string, string[]>();
  readonly calls: ApiCall[] = [];
  /** Everything the validator refused; tests assert it stays empty. */
  readonly rejections: string[] = [];
  private server?: Server;
  private seq = 0;
  private rateLimited = new Map<string, number>();
  private targets = new Map<string, FakeMessage>();
  url = '';

  constructor(private readonly opts: FakeSlackOptions = {}) {
    super();
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** Base URL for SLACK_API_URL. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** A fresh response_url, as Slack puts in each command and action; for an action, target is the clicked message. */
  responseUrl(user: string, channel: string, target?: FakeMessage): string {
    const url = `${this.url}/respond/${encodeURIComponent(channel)}/${encodeURIComponent(user)}/${++this.seq}`;
    if (target) this.targets.set(url, target);
    return url;
  }

  /** Messages in a channel, oldest first. */
  channelMessages(channel: string): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.channel === channel && !m.ephemeral);
  }

  private nextTs(): string {
    return `${Math.floor(Date.now() / 1000)}.${String(++this.seq).padStart(6, '0')}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const body = parseBody(raw, req.headers['content-type'] ?? '');
    const url = new URL(req.url ?? '/', this.url);
    const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(json));
    };
    if (url.pathname.startsWith('/respond/')) {
      const [, , channel = '', user = ''] = url.pathname.split('/').map(decodeURIComponent);
      const problems = this.check('blocks', body.blocks, 'response_url');
      if (problems.length) return send(400, { ok: false, error: 'invalid_blocks', problems });
      this.reply(url.toString(), channel, user, body);
      return send(200, { ok: true });
    }
    const method = url.pathname.replace(/^\/api\//, '');
    this.calls.push({ method, body });
    this.emit('call', { method, body });
    const limited = this.opts.rateLimit?.[method] ?? 0;
    const seen = this.rateLimited.get(method) ?? 0;
    if (seen < limited) {
      this.rateLimited.set(method, seen + 1);
      return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': '1' });
    }
    const result = this.api(method, body);
    send(200, result);
  }

  private check(kind: 'blocks' | 'view', value: unknown, method: string): string[] {
    if (value === undefined || !this.opts.validate) return [];
    const problems = this.opts.validate(kind, value, method);
    for (const p of problems) this.rejections.push(`${method}: ${p}`);
    return problems;
  }

  /** A reply through a response_url (or a slash command's acknowledgement body, which Slack shows the same way). */
  reply(responseUrl: string, channel: string, user: string, body: Record<string, unknown>): void {
    // The message this response_url belongs to: the clicked one, or the one an earlier reply created.
    const target = this.targets.get(responseUrl) ?? [...this.messages.values()].find((m) => m.responseUrl === responseUrl);
    if (body.delete_original) {
      if (target) this.messages.delete(`${target.channel}:${target.ts}`);
      return;
    }
    if (body.replace_original === true && target) {
      Object.assign(target, { text: body.text as string | undefined, blocks: body.blocks as unknown[] | undefined });
      this.emit('message', target);
      return;
    }
    const inChannel = body.response_type === 'in_channel';
    const message: FakeMessage = {
      channel,
      ts: this.nextTs(),
      text: body.text as string | undefined,
      blocks: body.blocks as unknown[] | undefined,
      ephemeral: !inChannel,
      user: inChannel ? undefined : user,
      responseUrl,
    };
    this.messages.set(`${channel}:${message.ts}`, message);
    this.emit('message', message);
  }

  private api(method: string, body: Record<string, unknown>): Record<string, unknown> {
    const blocksProblems = method.startsWith('chat.') ? this.check('blocks', body.blocks, method) : [];
    if (blocksProblems.length) return { ok: false, error: 'invalid_blocks', errors: blocksProblems };
    switch (method) {
      case 'auth.test':
        return { ok: true, url: this.url, team: 'Preflight', user: 'preflight', team_id: 'T0PREFLIGHT', user_id: 'U0PREFLIGHT', bot_id: 'B0PREFLIGHT' };
      case 'apps.connections.open':
        // Without a socket server to hand out, refuse as Slack does for a bad app token (the client stops retrying).
        return this.opts.socketUrl ? { ok: true, url: this.opts.socketUrl } : { ok: false, error: 'invalid_auth' };
      case 'chat.postMessage':
      case 'chat.postEphemeral': {
        const message: FakeMessage = {
          channel: String(body.channel),
          ts: this.nextTs(),
          text: body.text as string | undefined,
          blocks: body.blocks as unknown[] | undefined,
          thread_ts: body.thread_ts as string | undefined,
          ephemeral: method === 'chat.postEphemeral',
          user: method === 'chat.postEphemeral' ? String(body.user) : undefined,
        };
        this.messages.set(`${message.channel}:${message.ts}`, message);
        this.emit('message', message);
        return method === 'chat.postEphemeral' ? { ok: true, message_ts: message.ts } : { ok: true, channel: message.channel, ts: message.ts, message };
      }
      case 'chat.update': {
        const key = `${String(body.channel)}:${String(body.ts)}`;
        const message = this.messages.get(key);
        if (!message) return { ok: false, error: 'message_not_found' };
        Object.assign(message, { text: body.text ?? message.text, blocks: body.blocks ?? message.blocks });
        this.emit('message', message);
        return { ok: true, channel: message.channel, ts: message.ts };
      }
      case 'chat.delete': {
        this.messages.delete(`${String(body.channel)}:${String(body.ts)}`);
        return { ok: true };
      }
      case 'chat.getPermalink':
        return { ok: true, permalink: `${this.url}/archives/${String(body.channel)}/p${String(body.message_ts).replace('.', '')}` };
      case 'views.publish':
      case 'views.open':
      case 'views.update': {
        const problems = this.check('view', body.view, method);
        if (problems.length) return { ok: false, error: 'invalid_arguments', response_metadata: { messages: problems } };
        const view = body.view as Record<string, unknown>;
        if (method === 'views.publish') {
          const user = String(body.user_id);
          this.views.set(user, view);
          this.emit('view', user, view);
          return { ok: true, view: { id: `V${++this.seq}`, ...view } };
        }
        const existing = method === 'views.update' ? this.modals.find((m) => m.id === body.view_id) : undefined;
        if (method === 'views.update' && !existing) return { ok: false, error: 'not_found' };
        const modal = existing ?? { id: `V${++this.seq}`, triggerId: String(body.trigger_id ?? ''), view };
        modal.view = view;
        if (!existing) this.modals.push(modal);
        this.emit('view', 'modal', view);
        return { ok: true, view: { id: modal.id, ...view } };
      }
      case 'usergroups.users.update': {
        const users = String(body.users ?? '').split(',').filter(Boolean);
        // Slack refuses to empty a user group.
        if (!users.length) return { ok: false, error: 'invalid_users' };
        this.usergroups.set(String(body.usergroup), users);
        return { ok: true, usergroup: { id: body.usergroup, users } };
      }
      case 'users.info':
        return { ok: true, user: { id: body.user, name: this.users.get(String(body.user)) ?? String(body.user).toLowerCase(), real_name: String(body.user), tz: 'Europe/Berlin', tz_offset: 3600 } };
      case 'conversations.open':
        return { ok: true, channel: { id: `D${String(body.users ?? body.user ?? 'X')}` } };
      default:
        return { ok: true };
    }
  }
}

/** Web API bodies arrive as forms (fields holding JSON) or as JSON. */
function parseBody(raw: string, contentType: string): Record<string, unknown> {
  if (!raw) return {};
  if (contentType.includes('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    out[k] = /^[[{]/.test(v) ? safeJson(v) : v;
  }
  return out;
}

function safeJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
