import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import bolt from '@slack/bolt';
import type { Logger as BoltLogger } from '@slack/bolt';
import type { Deps } from '../deps.ts';
import type { Logger } from '../log.ts';
import { SlackHttpReceiver } from './receiver.ts';
import { routeRequests } from './router.ts';

const { App, LogLevel, SocketModeReceiver, webApi } = bolt;
type BoltApp = InstanceType<typeof App>;

export interface SlackTransport {
  mode: 'http' | 'socket';
  token: string;
  signingSecret?: string;
  appToken?: string;
  port: number;
  /** Interface to listen on; all when unset. */
  host?: string;
  apiUrl: string;
}

export interface SlackServer {
  app: BoltApp;
  /** Starts listening; resolves with the HTTP port (HTTP mode). */
  start(): Promise<number | undefined>;
  /** Stops taking requests and lets in-flight ones finish. */
  stop(): Promise<void>;
}

/** Bolt's logger interface over pino, so Bolt's own messages land in the same structured log. */
function boltLogger(log: Logger): BoltLogger {
  const child = log.child({ component: 'bolt' });
  return {
    debug: (...m) => child.debug(m.join(' ')),
    info: (...m) => child.info(m.join(' ')),
    warn: (...m) => child.warn(m.join(' ')),
    error: (...m) => child.error(m.map((x) => (x instanceof Error ? x.message : String(x))).join(' ')),
    setLevel: () => undefined,
    getLevel: () => LogLevel.INFO,
    setName: () => undefined,
  };
}

/** The handler a request is for, as a bounded metrics label (keys after `capability:verb` are dropped). */
function handlerOf(body: Record<string, unknown>): string {
  if (typeof body.command === 'string') return `command:${body.command}`;
  const action = (body.actions as Array<{ action_id?: string }> | undefined)?.[0]?.action_id;
  if (action) return `action:${action.split(':').slice(0, 2).join(':')}`;
  const event = (body.event as { type?: string } | undefined)?.type;
  if (event) return `event:${event}`;
  const view = (body.view as { callback_id?: string } | undefined)?.callback_id;
  if (view) return `view:${view}`;
  return `other:${String(body.type ?? 'unknown')}`;
}

/** Serves a capability's route from deps.routes, or 404. */
function dispatchRoute(deps: Deps, req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  for (const route of deps.routes) {
    if (route.method !== req.method) continue;
    const names: string[] = [];
    const pattern = route.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:(\w+)/g, (_, name: string) => (names.push(name), '([^/]+?)'));
    const m = new RegExp(`^${pattern}$`).exec(path);
    if (!m) continue;
    // A malformed %-escape is a bad request, not a crash.
    const params = () => Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
    Promise.resolve()
      .then(() => route.handler(Object.assign(req, { params: params() }), res))
      .catch((err) => {
        deps.log.warn({ err: (err as Error).message, path: route.path }, 'route failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
}

/** How long stop() waits for Slack to answer the socket's close frame before giving up on a clean close. */
const SOCKET_CLOSE_WAIT_MS = 3000;

/** Slack could not confirm the bot token at start (bad token, or Slack unreachable). */
export class SlackAuthError extends Error {}

/**
 * Checks the token once at start. Bolt would otherwise call auth.test from its constructor, and a failure
 * there is an unhandled rejection that kills the process later; here it is a clear error up front.
 */
async function whoAmI(t: SlackTransport, clientOptions: object): Promise<{ botId?: string; botUserId?: string }> {
  try {
    const auth = await new webApi.WebClient(t.token, { ...clientOptions, retryConfig: { retries: 2 } }).auth.test();
    return { botId: auth.bot_id, botUserId: auth.user_id };
  } catch (err) {
    const code = (err as { data?: { error?: string } }).data?.error;
    throw new SlackAuthError(code ? `Slack refused SLACK_BOT_TOKEN: ${code}` : `Cannot reach Slack at SLACK_API_URL (${t.apiUrl}): ${(err as Error).message}`);
  }
}

/** Builds the Bolt app for HTTP or Socket Mode, with health, metrics, retry handling and every capability. */
export async function createSlackApp(deps: Deps, t: SlackTransport, register: (app: BoltApp, deps: Deps) => void): Promise<SlackServer> {
  const logger = boltLogger(deps.log);
  // 429s and network blips are retried by the Web API client (honouring Retry-After), not surfaced as crashes.
  const clientOptions = { slackApiUrl: t.apiUrl, retryConfig: { retries: 5, factor: 2, minTimeout: 200, maxTimeout: 5000 } };
  const identity = await whoAmI(t, clientOptions);
  const health = async (_req: unknown, res: import('node:http').ServerResponse) => {
    const database = await deps.db.ping(1000);
    const runbooks = deps.library.loaded;
    res.writeHead(database && runbooks ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ database, runbooks, runbookCount: deps.library.all().length }));
  };
  const metrics = (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(deps.metrics.render());
  };
  const customRoutes = [
    { path: '/healthz', method: ['GET'], handler: health },
    { path: '/metrics', method: ['GET'], handler: metrics },
    // Capabilities add their routes in register(), after the receiver is built: one catch-all dispatches to them.
    { path: '/*rest', method: ['GET'], handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => dispatchRoute(deps, req, res) },
  ];

  let receiver: SlackHttpReceiver | undefined;
  let socket: InstanceType<typeof SocketModeReceiver> | undefined;
  let app: BoltApp;
  if (t.mode === 'http') {
    receiver = new SlackHttpReceiver({ signingSecret: t.signingSecret!, endpoint: '/slack/events', customRoutes, logger, unhandledRequestTimeoutMillis: 2900 });
    app = new App({ token: t.token, ...identity, receiver, logger, clientOptions, convoStore: false });
  } else {
    // Built here rather than by App so stop() can wait for its socket client to finish closing.
    socket = new SocketModeReceiver({
      appToken: t.appToken!,
      logger,
      // The socket client is built from installerOptions, not clientOptions (see test/fixtures/slack/README.md).
      installerOptions: { clientOptions: { slackApiUrl: t.apiUrl }, port: t.port },
      customRoutes,
    });
    app = new App({ token: t.token, ...identity, receiver: socket, logger, clientOptions, convoStore: false });
  }

  app.use(async ({ body, next }) => {
    const started = performance.now();
    let failed = false;
    try {
      await next();
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      deps.metrics.observe(handlerOf(body as Record<string, unknown>), (performance.now() - started) / 1000, failed);
    }
  });

  // Slack redelivers events it thinks we missed (x-slack-retry-num); each event id is handled once.
  app.use(async ({ body, next, context }) => {
    const eventId = (body as { event_id?: string }).event_id;
    if (eventId) {
      try {
        const claimed = await deps.db.query('insert into processed_events (event_id) values ($1) on conflict do nothing returning event_id', [eventId]);
        if (!claimed.length) {
          deps.log.debug({ eventId, retryNum: context.retryNum }, 'duplicate event delivery ignored');
          return;
        }
      } catch (err) {
        deps.log.warn({ err: (err as Error).message }, 'could not claim event id; handling it anyway');
      }
    }
    await next();
  });

  app.error(async (err) => {
    deps.log.error({ err: err.original ?? err, code: err.code }, 'unhandled error in a Slack listener');
  });

  deps.redraws.useClient(app.client);
  routeRequests(app, deps);
  register(app, deps);

  return {
    app,
    async start() {
      const server = (await (t.host ? app.start({ port: t.port, host: t.host }) : app.start(t.port))) as unknown as Server | undefined;
      const address = server && typeof server.address === 'function' ? (server.address() as AddressInfo | null) : null;
      return address?.port;
    },
    async stop() {
      // Bolt's SocketModeReceiver.stop() only starts the close handshake; wait for it (bounded, as Slack may be gone).
      const disconnected = socket && new Promise<void>((resolve) => socket.client.once('disconnected', () => resolve()));
      await app.stop();
      if (disconnected) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([disconnected, new Promise((r) => (timer = setTimeout(r, SOCKET_CLOSE_WAIT_MS)))]);
        clearTimeout(timer);
      }
    },
  };
}
