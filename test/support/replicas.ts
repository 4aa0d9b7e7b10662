import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { boot, type Preflight } from '../../src/boot.ts';
import { FakeSlack, type FakeSlackOptions } from '../../src/console/fakeSlack.ts';
import { SlackSimulator } from '../../src/console/simulator.ts';
import { openDb, type Db } from '../../src/db/index.ts';
import { createLogger } from '../../src/log.ts';
import { SIGNING_SECRET, testConfig } from './harness.ts';
import { createSchema } from './pg.ts';
import { validateSlack } from './validator.ts';

/** One call that went through a proxy: when FakeSlack got it, and what it answered. */
export interface ProxiedCall {
  method: string;
  /** Real time (ms) the request was handed to FakeSlack, after the delay. */
  at: number;
  status: number;
  body: string;
}

/**
 * A small HTTP proxy in front of FakeSlack: holds every request `delayMs` before forwarding it, as a slow
 * network path or a 429 retry would, so that instance's Slack calls reach Slack late.
 */
export class DelayProxy {
  delayMs = 0;
  readonly calls: ProxiedCall[] = [];
  private server?: Server;
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        setTimeout(() => {
          const at = Date.now();
          const out = request(new URL(req.url ?? '/', this.target), { method: req.method, headers: { ...req.headers, host: new URL(this.target).host } }, (answer) => {
            const parts: Buffer[] = [];
            answer.on('data', (c: Buffer) => parts.push(c));
            answer.on('end', () => {
              const text = Buffer.concat(parts).toString('utf8');
              this.calls.push({ method: (req.url ?? '').replace(/^\/api\//, '').split('?')[0]!, at, status: answer.statusCode ?? 0, body: body.toString('utf8') });
              const { 'content-length': _length, 'transfer-encoding': _encoding, ...headers } = answer.headers;
              res.writeHead(answer.statusCode ?? 502, headers);
              res.end(text);
            });
          });
          out.on('error', (err) => {
            res.writeHead(502);
            res.end(String(err));
          });
          out.end(body);
        }, this.delayMs);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** One Preflight instance of the deployment, its Slack calls going through its own proxy. */
export interface Replica {
  preflight: Preflight;
  sim: SlackSimulator;
  proxy: DelayProxy;
}

export interface Replicas {
  replicas: Replica[];
  /** The one Slack every instance talks to (through its proxy). */
  slack: FakeSlack;
  /** The database of the first instance (all share one schema). */
  db: Db;
  /** Waits until no redraw is pending or running in the database and every instance is idle. */
  settled(ms?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts n instances on one database, as a deployment behind a load balancer: on PostgreSQL (DATABASE_URL)
 * one schema with a pool per instance; on PGlite one Db object shared in this process. Each polls the
 * scheduler every `pollMs` (1 s, as in production), so an instance that did not take a click learns of its
 * work only as it would in production.
 */
export async function startReplicas(opts: { n: number; runbooks: string; pollMs?: number; slack?: FakeSlackOptions }): Promise<Replicas> {
  const slack = new FakeSlack({ validate: validateSlack, ...opts.slack });
  await slack.start();
  const url = process.env.DATABASE_URL;
  const schema = url ? await createSchema(url) : undefined;
  const shared = url ? undefined : await openDb({});
  const dbs: Db[] = [];
  const replicas: Replica[] = [];
  for (let i = 0; i < opts.n; i++) {
    const db = shared ?? (await openDb({ url, schema: schema!.schema }));
    dbs.push(db);
    const proxy = new DelayProxy(slack.url);
    await proxy.start();
    const apiUrl = `${proxy.url}/api/`;
    const config = testConfig({ RUNBOOKS_DIR: opts.runbooks, SLACK_API_URL: apiUrl });
    const preflight = await boot(config, { mode: 'http', token: 'xoxb-test', signingSecret: SIGNING_SECRET, port: 0, host: '127.0.0.1', apiUrl }, { db, watch: false, log: createLogger('silent'), pollMs: opts.pollMs ?? 1000 });
    replicas.push({ preflight, proxy, sim: new SlackSimulator(`http://127.0.0.1:${preflight.port}/slack/events`, SIGNING_SECRET, slack) });
  }
  return {
    replicas,
    slack,
    db: dbs[0]!,
    async settled(ms) {
      // Twice round: an instance finishing last may have rearmed a job another already looked at.
      for (let i = 0; i < 2; i++) for (const r of replicas) await r.preflight.deps.redraws.settled(ms);
    },
    async stop() {
      for (const r of replicas) await r.preflight.stop();
      for (const r of replicas) await r.proxy.stop();
      await slack.stop();
      for (const db of new Set(dbs)) await db.close();
      await schema?.drop();
    },
  };
}
