import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openDb, type Db } from '../src/db/index.ts';
import { alice, eventually, runbooksDir, SEED, startApp, TEST_PG_URL, type TestApp } from './support/harness.ts';
import { createSchema } from './support/pg.ts';

// A database outage while running, always on PostgreSQL (PGlite cannot go away): the app talks to the server
// through a TCP proxy the test can cut, so the outage is real sockets failing, not a stubbed function.

/** A TCP proxy to PostgreSQL that can refuse connections (server down) or swallow them (network black hole). */
class DbProxy {
  private server?: Server;
  private sockets = new Set<Socket>();
  port = 0;
  mode: 'forward' | 'blackhole' = 'forward';

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => client.destroy());
      // A black hole accepts and then says nothing, like a host behind a dropped route.
      if (this.mode === 'blackhole') return;
      const upstream = connect(this.target);
      this.sockets.add(upstream);
      upstream.on('close', () => {
        this.sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Cuts every connection and stops listening: connecting now fails with ECONNREFUSED. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** Cuts every open connection; new ones are accepted but never answered. */
  blackhole(): void {
    this.mode = 'blackhole';
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Open connections stay open but nothing passes any more (a partition without resets); new ones hang too. */
  freeze(): void {
    this.mode = 'blackhole';
    for (const s of this.sockets) {
      s.unpipe();
      s.pause();
    }
  }

  forward(): void {
    this.mode = 'forward';
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}

const target = new URL(TEST_PG_URL);
const proxy = new DbProxy({ host: target.hostname, port: Number(target.port || 5432) });
let schema: Awaited<ReturnType<typeof createSchema>>;
let db: Db;
let app: TestApp;

before(async () => {
  schema = await createSchema(TEST_PG_URL);
  await proxy.start();
  const viaProxy = new URL(TEST_PG_URL);
  viaProxy.port = String(proxy.port);
  db = await openDb({ url: viaProxy.toString(), schema: schema.schema });
  const dir = runbooksDir({ 'production-readiness.md': '' });
  cpSync(SEED, join(dir, 'production-readiness.md'));
  app = await startApp({ runbooks: dir, db });
});

after(async () => {
  await app?.stop();
  await db?.close();
  await proxy.stop();
  await schema?.drop();
});

async function health(): Promise<number> {
  const res = await fetch(`${app.url}/healthz`);
  await res.text();
  return res.status;
}

/** A signed /runbook command; returns the acknowledgement text and how long Slack would have waited. */
async function runbook(text: string): Promise<{ status: number; ms: number; text: string; json: string }> {
  const started = performance.now();
  const res = await app.sim.command('/runbook', text, alice);
  const ms = performance.now() - started;
  const body = res.body as { text?: string; blocks?: unknown[] } | undefined;
  return { status: res.status, ms, text: body?.text ?? '', json: JSON.stringify(body) };
}

async function outageBehaviour(): Promise<void> {
  await eventually(async () => assert.equal(await health(), 503, 'health() is 503'), 5000);

  const search = await runbook('search backup');
  assert.equal(search.status, 200);
  assert.ok(search.ms < 3000, `search answered in ${Math.round(search.ms)} ms, within Slack's 3 s`);
  assert.match(search.text, /database is unavailable/);
  assert.match(search.json, /"response_type":"ephemeral"/);

  // Showing a runbook needs no database: it keeps working.
  const show = await runbook('production-readiness rollback');
  assert.equal(show.status, 200);
  assert.ok(show.ms < 3000, `shown in ${Math.round(show.ms)} ms, within Slack's 3 s`);
  assert.ok(show.json.includes('pg_restore -h localhost -U postgres -d hamsaya /backups/latest.sql'));
}

async function recovers(): Promise<void> {
  await eventually(async () => assert.equal(await health(), 200, 'health() is 200'), 10000);
  const search = await runbook('search backup');
  assert.equal(search.status, 200);
  assert.ok(search.json.includes('Backup Strategy'), search.json.slice(0, 300));
  assert.doesNotMatch(search.text, /unavailable/);
}

test('healthy while the database answers', async () => {
  assert.equal(await health(), 200);
  const search = await runbook('search backup');
  assert.ok(search.json.includes('Backup Strategy'));
});

test('database server gone: /healthz 503, commands answered within 3 s, then it recovers by itself', async () => {
  await proxy.stop();
  await outageBehaviour();
  // The same port again, as a restarted server would be; the app is not restarted.
  await proxy.start();
  await recovers();
});

test('database host unreachable (connections hang): /healthz 503, commands answered within 3 s, then it recovers', async () => {
  proxy.blackhole();
  await outageBehaviour();
  proxy.forward();
  await recovers();
});

test('network partition (open connections go silent): /healthz 503, commands answered within 3 s, then it recovers', async () => {
  // Warm the pool so there are idle connections to freeze.
  await Promise.all([runbook('search backup'), runbook('search rollback'), health()]);
  proxy.freeze();
  await outageBehaviour();
  proxy.forward();
  await recovers();
});

test('nothing the app sent during the outage was refused by Slack', () => {
  assert.deepEqual(app.slack.rejections, []);
});
