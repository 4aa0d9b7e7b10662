import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the fake received: path, headers and parsed JSON body. */
export interface FakeOpenAIRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> & { model?: string; messages?: Array<{ role: string; content: string }> };
  /** The raw body as sent, to search for anything that must not be in it. */
  raw: string;
}

/** How the fake answers one request: a chat completion whose message content is `content`, or any status/JSON. */
export interface FakeOpenAIReply {
  /** Message content; an object is sent as its JSON text (structured output). */
  content?: string | Record<string, unknown>;
  /** Status and body instead of a completion (errors, odd replies). */
  status?: number;
  json?: unknown;
  /** Wait this long before answering (a slow or hung model); the wait ends early when the client gives up. */
  delayMs?: number;
}

export type FakeOpenAIScript = (req: FakeOpenAIRequest) => FakeOpenAIReply | Promise<FakeOpenAIReply>;

/** A chat.completion body with one choice, as the OpenAI API returns it. */
export function completion(content: string, model = 'gpt-4o-mini'): Record<string, unknown> {
  return {
    id: `chatcmpl-${Date.now()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

/**
 * A local OpenAI-compatible server for OPENAI_BASE_URL (`baseUrl`): POST /v1/chat/completions answers from a
 * script (scripted contents, errors, delays), every request is kept for assertions. Other paths get 404.
 */
export class FakeOpenAI {
  readonly requests: FakeOpenAIRequest[] = [];
  private server?: Server;
  private script: FakeOpenAIScript = () => ({ status: 500, json: { error: { message: 'no reply scripted', type: 'server_error' } } });
  url = '';

  /** Sets how the next requests are answered. */
  reply(script: FakeOpenAIScript | FakeOpenAIReply): void {
    this.script = typeof script === 'function' ? script : () => script;
  }

  /** The base URL for OPENAI_BASE_URL. */
  get baseUrl(): string {
    return `${this.url}/v1`;
  }

  /** The chat requests received so far. */
  get chats(): FakeOpenAIRequest[] {
    return this.requests.filter((r) => r.path === '/v1/chat/completions');
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: FakeOpenAIRequest['body'] = {};
    try {
      body = raw ? (JSON.parse(raw) as FakeOpenAIRequest['body']) : {};
    } catch {
      // kept as raw
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const request: FakeOpenAIRequest = { method: req.method ?? 'GET', path, headers: req.headers, body, raw };
    this.requests.push(request);
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ error: { message: `no route ${path}`, type: 'invalid_request_error' } }));
    }
    const reply = await this.script(request);
    if (reply.delayMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, reply.delayMs);
        res.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (res.destroyed || res.writableEnded) return;
    }
    const status = reply.status ?? 200;
    const json = reply.json ?? completion(typeof reply.content === 'string' ? reply.content : JSON.stringify(reply.content ?? {}), body.model);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(json));
  }
}
