import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import bolt from '@slack/bolt';
import { boot, type Preflight } from '../src/boot.ts';
import { loadConfig } from '../src/config.ts';
import type { FakeSlack } from '../src/console/fakeSlack.ts';
import { SlackSimulator } from '../src/console/simulator.ts';
import { openDb, type Db } from '../src/db/index.ts';
import { createLogger } from '../src/log.ts';
import { markdownFiles, runbookId } from '../src/runbooks/library.ts';

const { App, HTTPReceiver, LogLevel } = bolt;

export const CORPUS = fileURLToPath(new URL('../../shared/corpus/runbooks/', import.meta.url));
export const SEED = fileURLToPath(new URL('../../shared/seed/000_958a511dffd2001a.txt', import.meta.url));

// ───────────────────────────── figures ─────────────────────────────

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export const median = (values: number[]): number => percentile(values, 50);

/** A goal a figure is held to; `at` is the target in the figure's own unit. */
export interface Goal {
  op: '<' | '<=' | '>=' | '=';
  at: number;
  unit: string;
}

function meets(value: number, g: Goal): boolean {
  switch (g.op) {
    case '<':
      return value < g.at;
    case '<=':
      return value <= g.at;
    case '>=':
      return value >= g.at;
    case '=':
      return value === g.at;
  }
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : String(n));

/** Prints aligned rows of `label  value  goal  verdict`; a missed goal is printed, never thrown. */
export class Report {
  readonly missed: string[] = [];

  header(title: string): void {
    console.log(`\n== ${title} ${'='.repeat(Math.max(0, 72 - title.length))}`);
  }

  /** A figure with a goal: PASS or MISS. */
  figure(label: string, value: number, unit: string, goal: Goal, digits = 1): void {
    const ok = meets(value, goal);
    if (!ok) this.missed.push(label);
    this.row(label, `${fmt(value, digits)} ${unit}`, `goal ${goal.op} ${goal.at} ${goal.unit}`, ok ? 'PASS' : 'MISS');
  }

  /** A figure shown for context, with no goal. */
  info(label: string, value: number | string, unit = '', digits = 1): void {
    this.row(label, typeof value === 'number' ? `${fmt(value, digits)} ${unit}`.trim() : value, '', '');
  }

  note(text: string): void {
    console.log(`  · ${text}`);
  }

  private row(label: string, value: string, goal: string, verdict: string): void {
    console.log(`  ${label.padEnd(46)} ${value.padStart(14)}   ${goal.padEnd(16)} ${verdict}`.trimEnd());
  }
}

// ───────────────────────────── load ─────────────────────────────

export interface LoadResult {
  /** Per-request latency in ms, in request order. */
  latencies: number[];
  failures: number;
  wallMs: number;
}

/**
 * Sends n requests with `concurrency` in flight, timing each; `send` resolves true when the answer was right.
 * Workers pull the next index from a shared counter (safe: one thread), so the loop is bounded by n.
 */
export async function drive(n: number, concurrency: number, send: (i: number) => Promise<boolean>): Promise<LoadResult> {
  const latencies = new Array<number>(n).fill(NaN);
  let next = 0;
  let failures = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const started = performance.now();
      let ok = false;
      try {
        ok = await send(i);
      } catch {
        ok = false;
      }
      latencies[i] = performance.now() - started;
      if (!ok) failures++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, failures, wallMs: performance.now() - t0 };
}

/** A small seeded PRNG (mulberry32), so every bench run asks for the same runbooks in the same order. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A full garbage collection, so heap figures show what is retained rather than garbage not yet collected.
 * `gc` is exposed at run time (tsx starts node without --expose-gc).
 */
export function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ───────────────────────────── fixtures ─────────────────────────────

/** The corpus plus the seed (as given, mis-decoded) as production-readiness.md, in a fresh temp folder. */
export function corpusDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'preflight-bench-'));
  cpSync(CORPUS, dir, { recursive: true });
  cpSync(SEED, join(dir, 'production-readiness.md'));
  return dir;
}

/** The runbook ids below dir, without parsing anything. */
export function runbookIds(dir: string): string[] {
  return markdownFiles(dir).map((f) => runbookId(dir, f));
}

/** A TCP port that was free a moment ago, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A fresh schema on the server at url, opened as a Db; drop() closes the pool and removes the schema. */
export async function freshSchema(url: string): Promise<{ db: Db; schema: string; drop(): Promise<void> }> {
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  await admin(url, (c) => c.query(`create schema ${schema}`));
  const db = await openDb({ url, schema });
  return {
    db,
    schema,
    async drop() {
      await db.close();
      await admin(url, (c) => c.query(`drop schema if exists ${schema} cascade`));
    },
  };
}

/** A fresh database next to the one at url (a child process migrates `public`, so it gets its own). */
export async function freshDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `preflight_bench_${randomBytes(4).toString('hex')}`;
  await admin(url, (c) => c.query(`create database ${name}`));
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    // with (force) ends any connection a killed child left behind (PostgreSQL ≥ 13).
    drop: () => admin(url, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

/** Server version, for the header. */
export function serverVersion(url: string): Promise<string> {
  return admin(url, async (c) => String((await c.query<{ server_version: string }>('show server_version')).rows[0]?.server_version ?? '?'));
}

// ───────────────────────────── the baseline ─────────────────────────────

/**
 * A bare Bolt app whose /runbook only acks: the floor Preflight's latency is compared with. With `replies`
 * it acks with the body given for the command's text instead (a control: same bytes as Preflight, no work).
 * Every block action (e.g. a checklist click) is acked with nothing else done: the floor for ticks.
 */
export async function startBareBolt(signingSecret: string, apiUrl: string, replies?: Map<string, Record<string, unknown>>): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const receiver = new HTTPReceiver({ signingSecret, endpoints: '/slack/events', logLevel: LogLevel.ERROR });
  const app = new App({ token: 'xoxb-bench', receiver, logLevel: LogLevel.ERROR, clientOptions: { slackApiUrl: apiUrl } });
  app.command('/runbook', async ({ ack, command }) => {
    const reply = replies?.get(command.text);
    await (reply ? ack(reply) : ack());
  });
  app.action(/.*/, async ({ ack }) => {
    await ack();
  });
  const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}/slack/events`, stop: () => app.stop().then(() => undefined) };
}

// ───────────────────────────── Preflight itself ─────────────────────────────

/** A booted Preflight over HTTP on a fresh PostgreSQL schema, with a simulator signing requests to it. */
export interface BenchApp {
  preflight: Preflight;
  sim: SlackSimulator;
  db: Db;
  stop(): Promise<void>;
}

/** Boots Preflight in HTTP mode on 127.0.0.1 against the fake Slack, as the tests do, with logs off. */
export async function startPreflight(opts: { pgUrl: string; runbooksDir: string; slack: FakeSlack; signingSecret: string }): Promise<BenchApp> {
  const fresh = await freshSchema(opts.pgUrl);
  try {
    const config = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: opts.signingSecret,
      SLACK_API_URL: opts.slack.apiUrl,
      RUNBOOKS_DIR: opts.runbooksDir,
      LOG_LEVEL: 'silent',
    });
    const preflight = await boot(
      config,
      { mode: 'http', token: 'xoxb-bench', signingSecret: opts.signingSecret, port: 0, host: '127.0.0.1', apiUrl: opts.slack.apiUrl },
      { db: fresh.db, watch: false, log: createLogger('silent') },
    );
    const sim = new SlackSimulator(`http://127.0.0.1:${preflight.port}/slack/events`, opts.signingSecret, opts.slack);
    return {
      preflight,
      sim,
      db: fresh.db,
      async stop() {
        await preflight.stop();
        await fresh.drop();
      },
    };
  } catch (err) {
    await fresh.drop().catch(() => undefined);
    throw err;
  }
}
