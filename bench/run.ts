/**
 * `npm run bench`: Preflight's figures next to their goals (issues #2–#12). It only prints: a missed goal
 * is a MISS line, never a non-zero exit; a section that crashes is reported and sets exit code 1.
 *
 * PostgreSQL: BENCH_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test. Every section works in its own
 * schema or database and removes it. BENCH_ONLY=corpus,latency runs only the named sections
 * (ids: corpus, latency, memory, coldstart, alone, ticks, pgmem, replicas, rollback, oncall, readiness, ask).
 * BENCH_TICK_ROUNDS (default 5) sets the tick rounds; BENCH_CPU_PROF=<dir> writes V8 CPU profiles of the
 * spawned servers there; BENCH_SEMI=<MB> tries another young-generation size.
 */
import diagnostics from 'node:diagnostics_channel';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { instanceOfBlock } from '../src/checklist/blocks.ts';
import { applyChange, createInstance } from '../src/checklist/store.ts';
import { openDb, type Db } from '../src/db/index.ts';
import { migrate } from '../src/db/migrate.ts';
import { rearmPart } from '../src/jobs/store.ts';
import { parseRunbook } from '../src/runbooks/parse.ts';
import { askBench } from './ask.ts';
import { FakeSlack, type ApiCall, type FakeMessage } from '../src/console/fakeSlack.ts';
import { SlackSimulator, type SlackUser } from '../src/console/simulator.ts';
import { RunbookLibrary } from '../src/runbooks/library.ts';
import { pgliteMemory } from './pglite-memory.ts';
import { replicasSection } from './replicas.ts';
import { runbookCommand } from '../src/runbooks/listeners.ts';
import { readinessBench } from './readiness.ts';
import {
  corpusDir,
  drive,
  driveSessions,
  freePort,
  freshDatabase,
  fullGc,
  machineCpu,
  median,
  npmStart,
  percentile,
  processCpuMs,
  prng,
  runbookIds,
  Report,
  serverVersion,
  sleep,
  spawnNode,
  startBareBolt,
  startPreflight,
  withClient,
  type LoadResult,
} from './lib.ts';
import { rollbackSection } from './rollback.ts';
import { oncallSection } from './oncall.ts';

const MB = 1024 * 1024;
const SIGNING_SECRET = 'bench-signing-secret-0123456789';
const BENCH_USER: SlackUser = { id: 'UBENCH', name: 'bench' };

/** What every section gets. */
export interface BenchContext {
  pgUrl: string;
  /** Corpus + seed in a temp folder (ids like `openshift/…` and `production-readiness`). */
  runbooksDir: string;
  /** The local Slack Web API every app in this process talks to. */
  slack: FakeSlack;
  signingSecret: string;
  report: Report;
  /** Figures one section leaves for a later one. */
  shared: {
    /** p99 (ms) of the bare Bolt app at concurrency 20, for comparisons in later sections. */
    bareP99Ms?: number;
    /** process.memoryUsage() right after the /runbook load, both apps still up. */
    memoryAfterLoad?: NodeJS.MemoryUsage;
    memoryAtStart?: NodeJS.MemoryUsage;
    /** heapUsed after a full GC at the same point: what is actually retained. */
    heapRetainedAfterLoad?: number;
  };
}

/** One benchmark: a heading and a function that prints its figures through ctx.report. */
export interface Section {
  /** Short name for BENCH_ONLY. */
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<void>;
}

// ───────────────────────────── 1. corpus ─────────────────────────────

const corpusLoad: Section = {
  id: 'corpus',
  title: 'Corpus load + parse (RunbookLibrary.load over corpus + seed)',
  async run({ runbooksDir, report }) {
    const time = () => {
      const t0 = performance.now();
      const count = new RunbookLibrary(runbooksDir).load().length;
      return { ms: performance.now() - t0, count };
    };
    // The first run pays for JIT and the page cache; it is shown, not judged.
    const first = time();
    const runs = Array.from({ length: 5 }, () => time().ms);
    report.info('runbooks loaded', first.count, '', 0);
    report.info('first run (cold JIT, warm-up)', first.ms, 'ms');
    report.figure('median of 5', median(runs), 'ms', { op: '<', at: 300, unit: 'ms' });
    report.info('min of 5', Math.min(...runs), 'ms');
  },
};

// ───────────────────────────── 2. /runbook latency ─────────────────────────────

const LATENCY_N = 2000;
const LATENCY_WARMUP = 200;
const LATENCY_CONCURRENCY = 20;
// Alternating rounds: on a small shared machine, drift (GC, neighbours, CPU boost) then hits every app alike.
const LATENCY_ROUNDS = 4;

/** An app under load: how to reach it, and what a right answer to `/runbook <text>` looks like. */
interface Target {
  name: string;
  sim: SlackSimulator;
  answered(body: unknown): boolean;
}

/** Warms each target up, then sends texts to each in alternating rounds; returns each target's pooled and per-round results. */
async function compare(targets: Target[], texts: string[], user: SlackUser): Promise<{ pooled: LoadResult[]; rounds: LoadResult[][] }> {
  const send = (t: Target, offset: number) => async (i: number) => {
    const res = await t.sim.command('/runbook', texts[offset + i]!, user);
    return res.status === 200 && t.answered(res.body);
  };
  for (const t of targets) await drive(LATENCY_WARMUP, LATENCY_CONCURRENCY, send(t, 0));
  const pooled = targets.map((): LoadResult => ({ latencies: [], failures: 0, wallMs: 0 }));
  const rounds = targets.map((): LoadResult[] => []);
  const perRound = Math.ceil(LATENCY_N / LATENCY_ROUNDS);
  for (let round = 0; round < LATENCY_ROUNDS; round++) {
    const offset = LATENCY_WARMUP + round * perRound;
    const n = Math.min(perRound, LATENCY_N - round * perRound);
    for (let k = 0; k < targets.length; k++) {
      const i = (k + round) % targets.length;
      const r = await drive(n, LATENCY_CONCURRENCY, send(targets[i]!, offset));
      rounds[i]!.push(r);
      const into = pooled[i]!;
      into.latencies.push(...r.latencies);
      into.failures += r.failures;
      into.wallMs += r.wallMs;
    }
  }
  return { pooled, rounds };
}

function latencyRows(report: Report, name: string, r: LoadResult): { p50: number; p99: number } {
  const p50 = percentile(r.latencies, 50);
  const p99 = percentile(r.latencies, 99);
  report.info(`${name}: p50`, p50, 'ms', 2);
  report.info(`${name}: p99`, p99, 'ms', 2);
  report.info(`${name}: max`, Math.max(...r.latencies), 'ms', 2);
  report.info(`${name}: throughput`, (r.latencies.length / r.wallMs) * 1000, 'req/s', 0);
  report.figure(`${name}: failed or wrong answers`, r.failures, '', { op: '=', at: 0, unit: '' }, 0);
  return { p50, p99 };
}

const hasBlocks = (body: unknown) => Array.isArray((body as { blocks?: unknown } | undefined)?.blocks);

const runbookLatency: Section = {
  id: 'latency',
  title: `/runbook <id> over signed HTTP, concurrency ${LATENCY_CONCURRENCY}, PostgreSQL`,
  async run(ctx) {
    const { report } = ctx;
    const t0 = performance.now();
    const app = await startPreflight(ctx);
    report.info('boot in-process (fresh schema: migrate, index, listen)', performance.now() - t0, 'ms', 0);
    // The control acks with exactly Preflight's reply for each id, computed up front: same bytes on the
    // wire and through the client, none of the work. It tells transport cost from Preflight's own.
    const ids = app.preflight.deps.library.all().map((r) => r.id);
    const replies = new Map<string, Record<string, unknown>>();
    for (const id of ids) replies.set(id, { response_type: 'ephemeral', ...(await runbookCommand(app.preflight.deps, id)) });
    const bare = await startBareBolt(ctx.signingSecret, ctx.slack.apiUrl);
    const control = await startBareBolt(ctx.signingSecret, ctx.slack.apiUrl, replies);
    try {
      // Same ids, same order, same sizes for every app: only the server differs.
      const random = prng(20240601);
      const texts = Array.from({ length: LATENCY_WARMUP + LATENCY_N }, () => ids[Math.floor(random() * ids.length)]!);
      const sim = (endpoint: string) => new SlackSimulator(endpoint, ctx.signingSecret, ctx.slack);
      const { pooled, rounds } = await compare(
        [
          { name: 'preflight', sim: app.sim, answered: hasBlocks },
          { name: 'bare', sim: sim(bare.endpoint), answered: () => true },
          { name: 'control', sim: sim(control.endpoint), answered: hasBlocks },
        ],
        texts,
        BENCH_USER,
      );
      const [pf, base, same] = pooled;
      ctx.shared.memoryAfterLoad = process.memoryUsage();
      fullGc();
      ctx.shared.heapRetainedAfterLoad = process.memoryUsage().heapUsed;

      report.note(`${LATENCY_N} requests per app after ${LATENCY_WARMUP} warm-up, in ${LATENCY_ROUNDS} alternating rounds; ${ids.length} runbooks, ids drawn at random (seeded)`);
      report.note('bare = Bolt app that only acks; control = bare Bolt acking Preflight\'s exact reply (bytes, no work)');
      report.note('load generator and servers share this process and its event loop: latency includes queueing behind the client');
      const p = latencyRows(report, 'preflight', pf!);
      const b = latencyRows(report, 'bare', base!);
      const c = latencyRows(report, 'control', same!);
      ctx.shared.bareP99Ms = b.p99;
      report.figure('p99 ratio preflight / bare', p.p99 / b.p99, '×', { op: '<=', at: 2, unit: '×' }, 2);
      // The spread across rounds shows how much of the pooled ratio is noise from the machine.
      const perRound = rounds[0]!.map((r, i) => percentile(r.latencies, 99) / percentile(rounds[1]![i]!.latencies, 99));
      report.info('p99 ratio preflight / bare, per round', perRound.map((x) => x.toFixed(2)).join(' '));
      report.info('p50 ratio preflight / bare', p.p50 / b.p50, '×', 2);
      report.info('p99 ratio preflight / control', p.p99 / c.p99, '×', 2);
      report.info('p99 ratio control / bare', c.p99 / b.p99, '×', 2);
    } finally {
      await control.stop();
      await bare.stop();
      await app.stop();
    }
  },
};

// ───────────────────────────── 3. memory ─────────────────────────────

const memory: Section = {
  id: 'memory',
  title: 'Memory after the /runbook run',
  async run({ report, shared }) {
    const m = shared.memoryAfterLoad;
    if (!m) {
      report.note('the latency section did not run; nothing to show');
      return;
    }
    report.note('one process holds Preflight, both bare Bolt apps, the fake Slack, the load generator and tsx;');
    report.note('Preflight alone is measured as a child process in the `alone` section');
    report.figure('rss (this process)', m.rss / MB, 'MB', { op: '<', at: 150, unit: 'MB' });
    report.info('heapUsed', m.heapUsed / MB, 'MB');
    report.info('heapTotal', m.heapTotal / MB, 'MB');
    if (shared.heapRetainedAfterLoad !== undefined) report.info('heapUsed after a full GC', shared.heapRetainedAfterLoad / MB, 'MB');
    if (shared.memoryAtStart) report.info('rss of this process before any section', shared.memoryAtStart.rss / MB, 'MB');
  },
};

// ───────────────────────────── 4. cold start ─────────────────────────────

// The production path: what `npm start` runs after `npm run build` (npm run bench builds first).
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
// The same environment and flags as `npm start` (package.json); BENCH_SEMI=<MB> tries another young-generation
// size (GC vs RSS).
const START = npmStart();
const MAIN_ARGS = [...START.flags.map((f) => (process.env.BENCH_SEMI && f.startsWith('--max-semi-space-size=') ? `--max-semi-space-size=${process.env.BENCH_SEMI}` : f)), MAIN];
const REPO = fileURLToPath(new URL('..', import.meta.url));
const COLD_RUNS = 3;
const HEALTHY_WITHIN_MS = 15_000;

/** Polls /healthz every 20 ms until it answers 200; resolves with the time since t0, or throws. */
async function untilHealthy(url: string, t0: number, exited: () => boolean): Promise<number> {
  const deadline = t0 + HEALTHY_WITHIN_MS;
  while (performance.now() < deadline) {
    if (exited()) throw new Error('Preflight exited before it was healthy');
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    await sleep(20);
  }
  throw new Error(`not healthy within ${HEALTHY_WITHIN_MS} ms`);
}

/** A Preflight process started as `npm start` would in production (HTTP mode), once it is healthy. */
interface Child {
  base: string;
  pid: number;
  /** Spawn to first 200 from /healthz. */
  healthyMs: number;
  /** SIGTERM, then waits for exit (SIGKILL after 5 s); resolves with the time it took. */
  stop(): Promise<number>;
}

/**
 * Spawns dist/main.js with the environment and flags of `npm start` (package.json) against the fake Slack, databaseUrl and
 * ctx.runbooksDir, with logs off; throws with its stderr if it never gets healthy.
 */
async function spawnPreflight(ctx: Pick<BenchContext, 'signingSecret' | 'slack' | 'runbooksDir'>, databaseUrl: string): Promise<Child> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (\`npm run bench\` does)`);
  const port = await freePort();
  const t0 = performance.now();
  // BENCH_CPU_PROF=<dir>: a V8 CPU profile of each Preflight child (and of the bare Bolt control, in <dir>/control), written when it exits.
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawnNode(
    [...prof, ...MAIN_ARGS],
    {
      ...START.env,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: ctx.signingSecret,
      SLACK_API_URL: ctx.slack.apiUrl,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      RUNBOOKS_DIR: ctx.runbooksDir,
      LOG_LEVEL: 'silent',
    },
    REPO,
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    return { base, pid: child.pid, healthyMs: await untilHealthy(`${base}/healthz`, t0, child.exited), stop: child.stop };
  } catch (err) {
    await child.stop();
    throw new Error(`${(err as Error).message}${child.stderr() ? `\n${child.stderr()}` : ''}`);
  }
}

/** Preflight's own RSS, from its /metrics (process_resident_memory_bytes). */
async function childRss(base: string): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
  const m = /^process_resident_memory_bytes (\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

const coldStart: Section = {
  id: 'coldstart',
  title: 'Cold start to healthy: dist/main.js as `npm start` runs it, on PostgreSQL',
  async run(ctx) {
    const { report } = ctx;
    const database = await freshDatabase(ctx.pgUrl);
    const times: number[] = [];
    const stops: number[] = [];
    try {
      for (let run = 1; run <= COLD_RUNS; run++) {
        const child = await spawnPreflight(ctx, database.url);
        times.push(child.healthyMs);
        stops.push(await child.stop());
      }
    } finally {
      await database.drop();
    }
    times.forEach((ms, i) => report.info(`run ${i + 1}${i === 0 ? ' (new database: migrate + index all)' : ''}`, ms, 'ms', 0));
    report.figure(`median of ${COLD_RUNS}`, median(times), 'ms', { op: '<', at: 2000, unit: 'ms' }, 0);
    report.info('SIGTERM to exit, median', median(stops), 'ms', 0);
  },
};

// ───────────────────────────── 5. Preflight alone ─────────────────────────────

const standalone: Section = {
  id: 'alone',
  title: 'Preflight alone (own process, dist/main.js): /runbook load, then RSS',
  async run(ctx) {
    const { report } = ctx;
    const database = await freshDatabase(ctx.pgUrl);
    try {
      const child = await spawnPreflight(ctx, database.url);
      try {
        const rssIdle = await childRss(child.base);
        const sim = new SlackSimulator(`${child.base}/slack/events`, ctx.signingSecret, ctx.slack);
        const ids = runbookIds(ctx.runbooksDir);
        const random = prng(20240601);
        const texts = Array.from({ length: LATENCY_WARMUP + LATENCY_N }, () => ids[Math.floor(random() * ids.length)]!);
        const send = (offset: number) => async (i: number) => {
          const res = await sim.command('/runbook', texts[offset + i]!, BENCH_USER);
          return res.status === 200 && hasBlocks(res.body);
        };
        await drive(LATENCY_WARMUP, LATENCY_CONCURRENCY, send(0));
        const load = await drive(LATENCY_N, LATENCY_CONCURRENCY, send(LATENCY_WARMUP));
        const rssAfter = await childRss(child.base);

        report.note(`${LATENCY_N} requests after ${LATENCY_WARMUP} warm-up, concurrency ${LATENCY_CONCURRENCY}; the load generator is this process`);
        latencyRows(report, 'preflight alone', load);
        if (rssIdle !== undefined) report.info('rss when healthy, idle (/metrics)', rssIdle / MB, 'MB');
        if (rssAfter !== undefined) report.figure('rss after the run (/metrics)', rssAfter / MB, 'MB', { op: '<', at: 150, unit: 'MB' });
      } finally {
        await child.stop();
      }
    } finally {
      await database.drop();
    }
  },
};

// ───────────────────────────── 6. checklist ticks ─────────────────────────────

const TICK_GROUPS = 50;
const TICK_PER_GROUP = 10;
const TICKS = TICK_GROUPS * TICK_PER_GROUP;
const TICK_USERS = 50;
/** Timed rounds of the users' pattern, each on a fresh instance, for the spread of the ratios (BENCH_TICK_ROUNDS). */
const TICK_ROUNDS = Number(process.env.BENCH_TICK_ROUNDS ?? 5);
const TICK_RUNBOOK = 'launch/bench-ticks';
/** Clicks sent to each server before anything is timed (to a separate instance, for Preflight). */
const TICK_WARMUP = 500;
const POSTED_WITHIN_MS = 15_000;
const SETTLED_WITHIN_MS = 15_000;
// The updater redraws an instance at most once a second: this long without a chat.update in a channel means it is done.
const QUIET_MS = 1500;
const BARE_BOLT = fileURLToPath(new URL('./bare-bolt.ts', import.meta.url));

interface TickOption {
  text: { type: string; text: string };
  value: string;
}

/** One checkboxes element of a posted checklist message. */
interface TickElement {
  message: FakeMessage;
  blockId: string;
  actionId: string;
  options: TickOption[];
  initial: TickOption[];
}

/** A runbook of TICK_GROUPS sections of TICK_PER_GROUP open task items each. */
function tickRunbook(): string {
  const lines = ['# Bench launch', '', 'A long pre-launch checklist for the tick benchmark.'];
  for (let s = 1; s <= TICK_GROUPS; s++) {
    lines.push('', `## Area ${s}`);
    for (let i = 1; i <= TICK_PER_GROUP; i++) lines.push(`- [ ] Area ${s} check ${i}: verify the component is configured, monitored and documented`);
  }
  return `${lines.join('\n')}\n`;
}

/** Every checkboxes element in the channel's (non-ephemeral) messages. */
function tickElements(slack: FakeSlack, channel: string): TickElement[] {
  type Block = { type: string; block_id?: string; elements?: Array<{ type: string; action_id: string; options?: TickOption[]; initial_options?: TickOption[] }> };
  return slack.channelMessages(channel).flatMap((message) =>
    ((message.blocks ?? []) as Block[])
      .filter((b) => b.type === 'actions')
      .flatMap((b) =>
        (b.elements ?? [])
          .filter((e) => e.type === 'checkboxes')
          .map((e) => ({ message, blockId: b.block_id!, actionId: e.action_id, options: e.options ?? [], initial: e.initial_options ?? [] })),
      ),
  );
}

const shownTicked = (slack: FakeSlack, channel: string) => tickElements(slack, channel).reduce((n, e) => n + e.initial.length, 0);
const ephemeralsIn = (slack: FakeSlack, channel: string) => [...slack.messages.values()].filter((m) => m.channel === channel && m.ephemeral).length;

interface Posted {
  instanceId: string;
  channel: string;
  /** /checklist sent to every item in the fake Slack. */
  ms: number;
  messages: number;
  /** The checkboxes elements as first posted, copied: stale once anyone ticks. */
  stale: TickElement[];
}

/** Posts `/checklist <instance>` in channel and waits until the fake Slack (which records chat.postMessage) holds every item. */
async function postChecklist(sim: SlackSimulator, slack: FakeSlack, instance: string, channel: string): Promise<Posted> {
  const p0 = performance.now();
  const posted = await sim.command('/checklist', instance, BENCH_USER, channel);
  if (posted.status !== 200) throw new Error(`/checklist ${instance} answered ${posted.status}: ${JSON.stringify(posted.body)}`);
  while (tickElements(slack, channel).reduce((n, e) => n + e.options.length, 0) < TICKS) {
    if (performance.now() - p0 > POSTED_WITHIN_MS) throw new Error(`checklist ${instance} was not posted within ${POSTED_WITHIN_MS} ms: ${JSON.stringify(posted.body)}`);
    await sleep(10);
  }
  const ms = performance.now() - p0;
  const stale = tickElements(slack, channel).map((e) => ({ ...e, message: structuredClone(e.message) }));
  const instanceId = instanceOfBlock(stale[0]!.blockId);
  if (!instanceId) throw new Error(`no instance in block id ${stale[0]!.blockId}`);
  return { instanceId, channel, ms, messages: slack.channelMessages(channel).length, stale };
}

type CheckArgs = Parameters<SlackSimulator['check']>;

const TICKERS: SlackUser[] = Array.from({ length: TICK_USERS }, (_, i) => ({ id: `UTICK${String(i).padStart(3, '0')}`, name: `ticker${i}` }));

/**
 * The TICKS clicks on a posted checklist, each built from the stale element: its initial_options plus one new item.
 * Click i is user i % TICK_USERS's, so neighbouring items (same element) go to different users.
 */
function clicksOn(posted: Posted): CheckArgs[] {
  const open = posted.stale.flatMap((e) => e.options.filter((o) => !e.initial.some((i) => i.value === o.value)).map((o) => ({ e, o })));
  if (open.length !== TICKS) throw new Error(`${open.length} open items in the posted messages, expected ${TICKS}`);
  return open.map(({ e, o }, i): CheckArgs => [TICKERS[i % TICK_USERS]!, { action_id: e.actionId, block_id: e.blockId }, [...e.initial, o], { message: e.message }]);
}

/** Each user's clicks among the first n, in order: user u sends u, u + TICK_USERS, … one after another. */
function userSessions(n: number): number[][] {
  return TICKERS.map((_, u) => Array.from({ length: Math.ceil((n - u) / TICK_USERS) }, (_, k) => u + k * TICK_USERS));
}

/** A signed request as the simulator would send it (the signature covers the body, not the URL). */
interface Recorded {
  init: RequestInit;
  bytes: number;
}

/**
 * The requests `sim.check(...click)` would send, serialized and signed by the simulator itself but not sent:
 * building a 50-block payload and signing it is Slack's work, so it is kept out of the timed runs.
 */
async function recordClicks(sim: SlackSimulator, clicks: CheckArgs[]): Promise<Recorded[]> {
  const real = globalThis.fetch;
  const recorded: Recorded[] = [];
  globalThis.fetch = (async (_url: string | URL | Request, init?: RequestInit) => {
    recorded.push({ init: init ?? {}, bytes: Buffer.byteLength(String(init?.body ?? '')) });
    return new Response('', { status: 200 });
  }) as typeof fetch;
  try {
    for (const c of clicks) await sim.check(...c);
  } finally {
    globalThis.fetch = real;
  }
  return recorded;
}

interface ClickRun extends LoadResult {
  /** Why clicks failed: HTTP status or the socket error's code, with counts. */
  errors: Map<string, number>;
  /** Distinct client connections the clicks went over (new or kept alive): the real concurrency on the wire. */
  connections: number;
  /** CPU time over the run, ms: this process (client + fake Slack), the server process, the whole machine (all cores). */
  cpu: { bench: number; server?: number; machine: number };
}

/** How clicks go out: `send(i)` sends click i; resolves with the timings. */
type Pattern = (send: (i: number) => Promise<boolean>) => Promise<LoadResult>;
const PATTERNS = {
  /** Every user clicking at once, each user's clicks one after another. */
  users: (n: number): Pattern => (send) => driveSessions(userSessions(n), send),
  /** All n in flight at once. */
  burst: (n: number): Pattern => (send) => drive(n, n, send),
};

/** Sends the recorded clicks to endpoint in the given pattern, timing each from send to acknowledgement. */
async function sendClicks(requests: Recorded[], endpoint: string, serverPid: number, pattern: Pattern): Promise<ClickRun> {
  const errors = new Map<string, number>();
  const count = (key: string) => errors.set(key, (errors.get(key) ?? 0) + 1);
  const port = Number(new URL(endpoint).port);
  const sockets = new Set<Socket>();
  const onSend = (m: unknown) => {
    const { socket } = m as { socket?: Socket };
    if (socket?.remotePort === port) sockets.add(socket);
  };
  diagnostics.subscribe('undici:client:sendHeaders', onSend);
  const cpu0 = process.cpuUsage();
  const server0 = processCpuMs(serverPid);
  const machine0 = machineCpu();
  try {
    const load = await pattern(async (i) => {
      try {
        const res = await fetch(endpoint, requests[i]!.init);
        await res.arrayBuffer();
        if (res.status !== 200) count(`HTTP ${res.status}`);
        return res.status === 200;
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        count(cause?.code ?? cause?.message ?? (err as Error).message);
        return false;
      }
    });
    const cpu = process.cpuUsage(cpu0);
    const server1 = processCpuMs(serverPid);
    const machine1 = machineCpu();
    return {
      ...load,
      errors,
      connections: sockets.size,
      cpu: {
        bench: (cpu.user + cpu.system) / 1000,
        server: server0 !== undefined && server1 !== undefined ? server1 - server0 : undefined,
        machine: machine1.busy - machine0.busy,
      },
    };
  } finally {
    diagnostics.unsubscribe('undici:client:sendHeaders', onSend);
  }
}

/** Counts chat.update calls per channel on the fake Slack, and when the last one came. */
function updateWatch(slack: FakeSlack) {
  const counts = new Map<string, number>();
  const last = new Map<string, number>();
  const onCall = (c: ApiCall) => {
    if (c.method !== 'chat.update') return;
    const channel = String(c.body.channel);
    counts.set(channel, (counts.get(channel) ?? 0) + 1);
    last.set(channel, performance.now());
  };
  slack.on('call', onCall);
  return {
    count: (channel: string) => counts.get(channel) ?? 0,
    last: (channel: string) => last.get(channel) ?? 0,
    stop: () => void slack.off('call', onCall),
  };
}

/**
 * Waits until the channel shows `expected` items ticked (shownMs counts from t0), then until QUIET_MS pass without a chat.update there (so
 * the next run is not measured next to this one's redraws). shownMs is NaN if it never showed them all in time.
 */
async function settle(slack: FakeSlack, updates: ReturnType<typeof updateWatch>, channel: string, expected: number, t0: number): Promise<{ shownMs: number; shown: number }> {
  let shownMs = NaN;
  for (;;) {
    const now = performance.now();
    const shown = shownTicked(slack, channel);
    if (Number.isNaN(shownMs) && shown >= expected) shownMs = now - t0;
    if ((!Number.isNaN(shownMs) && now - updates.last(channel) >= QUIET_MS) || now - t0 > SETTLED_WITHIN_MS) return { shownMs, shown };
    await sleep(20);
  }
}

/** Ticked rows and tick events of an instance, straight from the database Preflight uses. */
function tickCounts(databaseUrl: string, instanceId: string): Promise<{ checked: number; events: number; actors: number; statements: number }> {
  return withClient(databaseUrl, async (c) => {
    const checked = (await c.query<{ n: number }>('select count(*)::int as n from checklist_items where instance_id = $1 and checked', [instanceId])).rows[0]!.n;
    // Clicks in one statement share its time: distinct times count the statements (two in one millisecond, one).
    const ev = (await c.query<{ n: number; actors: number; statements: number }>(
      `select count(*)::int as n, count(distinct actor)::int as actors, count(distinct at)::int as statements from checklist_events where instance_id = $1 and action = 'tick'`,
      [instanceId],
    )).rows[0]!;
    return { checked, events: ev.n, actors: ev.actors, statements: ev.statements };
  });
}

interface TickOutcome {
  run: ClickRun;
  checked: number;
  events: number;
  actors: number;
  statements: number;
  ephemerals: number;
  updatesDuring: number;
  updatesTotal: number;
  shownMs: number;
  shown: number;
}

/** One timed run of clicks on a posted instance: the clicks, then the database (after all acks), then the channel. */
async function tickRun(
  slack: FakeSlack,
  updates: ReturnType<typeof updateWatch>,
  databaseUrl: string,
  app: Child,
  posted: Posted,
  requests: Recorded[],
  pattern: Pattern,
  expected: number,
): Promise<TickOutcome> {
  const updates0 = updates.count(posted.channel);
  const ephemerals0 = ephemeralsIn(slack, posted.channel);
  const run = await sendClicks(requests, `${app.base}/slack/events`, app.pid, pattern);
  const lastAck = performance.now();
  const updatesDuring = updates.count(posted.channel) - updates0;
  // A click's tick is stored before its acknowledgement, so every row is in once all clicks have returned.
  const counts = await tickCounts(databaseUrl, posted.instanceId);
  const { shownMs, shown } = await settle(slack, updates, posted.channel, expected, lastAck);
  return { run, ...counts, ephemerals: ephemeralsIn(slack, posted.channel) - ephemerals0, updatesDuring, updatesTotal: updates.count(posted.channel) - updates0, shownMs, shown };
}

const pct = (ms: number | undefined, wallMs: number) => (ms === undefined ? '?' : `${Math.round((ms / wallMs) * 100)}%`);

/** The figures of one run; throughput and p99 are judged as ratios to the control (tickRatios), not here. */
function tickRows(report: Report, label: string, o: TickOutcome): void {
  const { run } = o;
  const rate = (TICKS / run.wallMs) * 1000;
  const p99 = percentile(run.latencies, 99);
  const at = (name: string) => `${label}: ${name}`;
  report.info(at('wall time, first click sent to last ack'), run.wallMs, 'ms', 0);
  report.info(at('ticks per second (500 / wall time)'), rate, 'ticks/s', 0);
  report.info(at('click latency p50'), percentile(run.latencies, 50), 'ms', 1);
  report.info(at('click latency p99'), p99, 'ms', 1);
  report.info(at('click latency max'), Math.max(...run.latencies), 'ms', 1);
  report.figure(at('failed clicks (not HTTP 200, or no answer)'), run.failures, '', { op: '=', at: 0, unit: '' }, 0);
  if (run.errors.size) report.note(`${label}: click errors: ${[...run.errors].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
  report.figure(at('lost ticks (500 − checked rows after all acks)'), TICKS - o.checked, '', { op: '=', at: 0, unit: '' }, 0);
  report.info(at('tick events recorded / distinct actors'), `${o.events} / ${o.actors}`);
  report.info(at('tick statements (clicks batched per checklist) / clicks per statement'), `${o.statements} / ${(o.events / Math.max(1, o.statements)).toFixed(1)}`);
  report.info(at('clicks answered with an error message'), o.ephemerals, '', 0);
  report.info(at('client connections used'), run.connections, '', 0);
  report.info(at('CPU: bench / Preflight / machine (of wall)'), `${pct(run.cpu.bench, run.wallMs)} / ${pct(run.cpu.server, run.wallMs)} / ${pct(run.cpu.machine, run.wallMs)}`);
  if (run.cpu.server !== undefined) report.info(at('Preflight CPU per click (1000 ÷ this = one core\'s ceiling/s)'), run.cpu.server / TICKS, 'ms', 2);
  report.info(at('chat.update calls during the clicks / + settle'), `${o.updatesDuring} / ${o.updatesTotal}`);
  report.info(at('settle: last ack to all shown ticked'), o.shownMs, 'ms', 0);
  report.figure(at('items shown ticked in the channel after settle'), o.shown, '', { op: '=', at: TICKS, unit: '' }, 0);
}

/** Spread of values over rounds: `median (min–max)`. */
function spread(values: number[], digits: number): string {
  const f = (v: number) => v.toFixed(digits);
  return `${f(median(values))} (${f(Math.min(...values))}–${f(Math.max(...values))})`;
}

/**
 * The tick goal as ratios to the bare Bolt control, round by round (issue 6 point 6): ticks/s ≥ 0.8× the control's
 * clicks/s and p99 ≤ 2× its p99, judged on the median over rounds, with the spread; 0 lost in every round.
 */
function tickRatios(report: Report, rounds: Array<{ preflight: TickOutcome; control: ClickRun }>): void {
  const rate = rounds.map((r) => r.control.wallMs / r.preflight.run.wallMs);
  const p99 = rounds.map((r) => percentile(r.preflight.run.latencies, 99) / percentile(r.control.latencies, 99));
  rounds.forEach((r, i) => {
    const p = r.preflight.run;
    report.info(
      `round ${i + 1}: ticks/s Preflight / control`,
      `${((TICKS / p.wallMs) * 1000).toFixed(0)} / ${((TICKS / r.control.wallMs) * 1000).toFixed(0)} = ${rate[i]!.toFixed(2)}×`,
    );
    report.info(`round ${i + 1}: p99 ms Preflight / control`, `${percentile(p.latencies, 99).toFixed(0)} / ${percentile(r.control.latencies, 99).toFixed(0)} = ${p99[i]!.toFixed(2)}×`);
  });
  report.figure(`ticks/s ÷ control clicks/s, median of ${rounds.length}`, median(rate), '×', { op: '>=', at: 0.8, unit: '×' }, 2);
  report.info('  spread over rounds: median (min–max)', spread(rate, 2));
  report.figure(`p99 ÷ control p99, median of ${rounds.length}`, median(p99), '×', { op: '<=', at: 2, unit: '×' }, 2);
  report.info('  spread over rounds: median (min–max)', spread(p99, 2));
  report.figure('lost ticks, all rounds', rounds.reduce((n, r) => n + TICKS - r.preflight.checked, 0), '', { op: '=', at: 0, unit: '' }, 0);
  const cpu = (xs: Array<number | undefined>) => (xs.every((x) => x !== undefined) ? spread((xs as number[]).map((x) => x / TICKS), 2) : '?');
  report.info('CPU ms per click, Preflight: median (min–max)', cpu(rounds.map((r) => r.preflight.run.cpu.server)));
  report.info('CPU ms per click, bare Bolt: median (min–max)', cpu(rounds.map((r) => r.control.cpu.server)));
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

/** CPU time (ms) of the PostgreSQL server's processes, when it runs on this machine (read from /proc), else undefined. */
async function postgresCpuMs(db: Db): Promise<number | undefined> {
  try {
    const pids = await db.query<{ pid: number }>('select pid from pg_stat_activity');
    let ticks = 0;
    for (const { pid } of pids) {
      // utime and stime, fields 14 and 15 of /proc/<pid>/stat, counted after the ") " that ends the name.
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    }
    return (ticks * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/**
 * The tick statement alone (applyChange with its redraw part), 20 at once through a pool of 10, no HTTP: how many
 * the database takes, and its CPU per tick. One click a statement, the dearest case: the app batches the clicks
 * on a checklist that arrive while its statement runs.
 */
async function tickStatementAlone(report: Report, url: string): Promise<void> {
  const db = await openDb({ url });
  try {
    await migrate(db);
    const runbook = parseRunbook(TICK_RUNBOOK, `${TICK_RUNBOOK}.md`, tickRunbook());
    await createInstance(db, runbook, { id: 'statement-alone', name: 'Statement alone', actor: 'UBENCH', source: 'bench' }, new Date());
    const keys = runbook.tasks.map((t) => t.key);
    let i = 0;
    const one = async () => {
      const k = keys[i % keys.length]!;
      const tick = Math.floor(i / keys.length) % 2 === 0;
      i++;
      const redraw = rearmPart({ name: 'redraw', key: 'checklist:statement-alone', runAt: new Date(), notBefore: new Date(Date.now() + 1000), payload: { kind: 'checklist', ref: 'statement-alone' } });
      await applyChange(db, { instanceId: 'statement-alone', tick: tick ? [k] : [], untick: tick ? [] : [k], actor: `U${i % TICK_USERS}`, source: 'bench', lockOwner: false, admins: [] }, new Date(), redraw);
    };
    const N = 4000;
    for (let w = 0; w < 500; w++) await one();
    i = 0;
    const pg0 = await postgresCpuMs(db);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 20 }, async () => { while (i < N) await one(); }));
    const wall = performance.now() - t0;
    const pg1 = await postgresCpuMs(db);
    report.note(`the tick statement alone: ${N} ticks and unticks with their redraw part, 20 at once, pool of 10, no HTTP, one click a statement (the database's share of a lone click)`);
    report.info('tick statement alone: ticks/s', (N / wall) * 1000, 'ticks/s', 0);
    if (pg0 !== undefined && pg1 !== undefined) report.info('tick statement alone: PostgreSQL CPU per tick', (pg1 - pg0) / N, 'ms', 3);
  } finally {
    await db.close();
  }
}

/** The control's figures for one pattern, next to Preflight's. */
function controlRows(report: Report, label: string, control: ClickRun, preflight: ClickRun | undefined): void {
  const p99 = percentile(control.latencies, 99);
  report.info(`control, ${label}: clicks/s`, (TICKS / control.wallMs) * 1000, 'clicks/s', 0);
  report.info(`control, ${label}: p50 / p99`, `${percentile(control.latencies, 50).toFixed(1)} / ${p99.toFixed(1)} ms`);
  report.info(`control, ${label}: CPU bench / bare Bolt / machine (of wall)`, `${pct(control.cpu.bench, control.wallMs)} / ${pct(control.cpu.server, control.wallMs)} / ${pct(control.cpu.machine, control.wallMs)}`);
  report.info(`control, ${label}: client connections used`, control.connections, '', 0);
  if (control.cpu.server !== undefined) report.info(`control, ${label}: bare Bolt CPU per click`, control.cpu.server / TICKS, 'ms', 2);
  if (preflight) report.info(`p99 ratio Preflight / control, ${label}`, percentile(preflight.latencies, 99) / p99, '×', 2);
  if (control.failures) report.note(`control, ${label}: ${control.failures} failed clicks: ${[...control.errors].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
}

/** The bare Bolt app (bench/bare-bolt.ts) as a process of its own, once it listens. */
async function spawnBareBolt(ctx: BenchContext): Promise<{ endpoint: string; pid: number; stop(): Promise<number> }> {
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}/control`] : [];
  const child = spawnNode([...prof, '--import', 'tsx', BARE_BOLT], { SLACK_SIGNING_SECRET: ctx.signingSecret, SLACK_API_URL: ctx.slack.apiUrl, PORT: '0' }, REPO);
  try {
    const m = await child.stdoutMatch(/listening (\d+)/, HEALTHY_WITHIN_MS);
    return { endpoint: `http://127.0.0.1:${m[1]}/slack/events`, pid: child.pid, stop: child.stop };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

const checklistTicks: Section = {
  id: 'ticks',
  title: `Checklist ticks: ${TICKS} signed clicks from ${TICK_USERS} users, Preflight as its own process, PostgreSQL`,
  async run(ctx) {
    const { report, slack } = ctx;
    const dir = mkdtempSync(join(tmpdir(), 'preflight-bench-ticks-'));
    mkdirSync(join(dir, 'launch'));
    writeFileSync(join(dir, `${TICK_RUNBOOK}.md`), tickRunbook());
    const database = await freshDatabase(ctx.pgUrl);
    const updates = updateWatch(slack);
    const load0 = loadavg()[0]!;
    try {
      const app = await spawnPreflight({ ...ctx, runbooksDir: dir }, database.url);
      try {
        const sim = new SlackSimulator(`${app.base}/slack/events`, ctx.signingSecret, slack);
        // Instances of the same runbook, each in its own channel: warm-up, one per timed round, the burst.
        for (const name of ['warmup', 'burst', ...Array.from({ length: TICK_ROUNDS - 1 }, (_, r) => `round-${r + 2}`)]) {
          const made = await sim.command('/checklist', `new ${TICK_RUNBOOK} ${name}`, BENCH_USER, 'CBENCHSETUP');
          if (made.status !== 200 || !JSON.stringify(made.body).includes('Created')) throw new Error(`/checklist new ${name}: ${made.status} ${JSON.stringify(made.body)}`);
        }
        const main = await postChecklist(sim, slack, TICK_RUNBOOK, 'CBENCHTICKS');
        const more = [];
        for (let r = 2; r <= TICK_ROUNDS; r++) more.push(await postChecklist(sim, slack, `round-${r}`, `CBENCHROUND${r}`));
        const roundsPosted = [main, ...more];
        const burst = await postChecklist(sim, slack, 'burst', 'CBENCHBURST');
        const warm = await postChecklist(sim, slack, 'warmup', 'CBENCHWARM');

        const b0 = performance.now();
        const mainClicks = await recordClicks(sim, clicksOn(main));
        const buildMs = performance.now() - b0;
        const roundClicks = [mainClicks];
        for (const posted of more) roundClicks.push(await recordClicks(sim, clicksOn(posted)));
        const burstClicks = await recordClicks(sim, clicksOn(burst));
        const warmClicks = await recordClicks(sim, clicksOn(warm).slice(0, TICK_WARMUP));

        // Control: bare Bolt in its own process gets the very same signed bodies in both patterns (after a warm-up).
        // Rounds alternate control and Preflight (and which goes first), so drift on a shared machine hits both alike.
        let controlBurst: ClickRun | undefined;
        const rounds: Array<{ preflight: TickOutcome; control: ClickRun }> = [];
        let warmup: TickOutcome;
        let all: TickOutcome;
        const bare = await spawnBareBolt(ctx);
        try {
          await sendClicks(warmClicks, bare.endpoint, bare.pid, PATTERNS.users(TICK_WARMUP));
          // Preflight's warm-up: a separate instance, settled before anything is timed.
          warmup = await tickRun(slack, updates, database.url, app, warm, warmClicks, PATTERNS.users(TICK_WARMUP), TICK_WARMUP);
          for (let r = 0; r < TICK_ROUNDS; r++) {
            const controlRun = () => sendClicks(roundClicks[r]!, bare.endpoint, bare.pid, PATTERNS.users(TICKS));
            const preflightRun = () => tickRun(slack, updates, database.url, app, roundsPosted[r]!, roundClicks[r]!, PATTERNS.users(TICKS), TICKS);
            if (r % 2 === 0) {
              const control = await controlRun();
              rounds.push({ control, preflight: await preflightRun() });
            } else {
              const preflight = await preflightRun();
              rounds.push({ preflight, control: await controlRun() });
            }
          }
          controlBurst = await sendClicks(burstClicks, bare.endpoint, bare.pid, PATTERNS.burst(TICKS));
          all = await tickRun(slack, updates, database.url, app, burst, burstClicks, PATTERNS.burst(TICKS), TICKS);
        } finally {
          await bare.stop();
        }
        const users = rounds[0]!.preflight;
        const controlUsers = rounds[0]!.control;

        report.note(`Preflight runs as \`npm start\` runs it (HTTP, fresh database); the fake Slack and the clients are this process`);
        report.note(`runbook of ${TICK_GROUPS} sections × ${TICK_PER_GROUP} open items, posted with /checklist in ${main.messages} messages (${main.stale.length} checkbox elements)`);
        report.note(`each click: the element's initial_options as first posted (stale) + 1 new item, built and signed by sim.check up front; click i is user i % ${TICK_USERS}'s`);
        report.note(`warm-up: ${TICK_WARMUP} clicks on a separate instance (${TICK_USERS} users × ${TICK_WARMUP / TICK_USERS}), settled before the timed runs: a long-running process is what is measured, so both sides are past their JIT warm-up`);
        report.note(`control = bare Bolt app that only acks, in its own process (bench/bare-bolt.ts, node --import tsx), sent the same bodies in both patterns, after a ${TICK_WARMUP}-click warm-up`);
        report.note(`CPU rows: CPU time over wall time (100% = one core of ${cpus().length}); "machine" is every process, PostgreSQL and other load included`);
        report.note(`load average (1 min) before this section: ${load0.toFixed(2)}`);
        report.info('post: /checklist to all messages in the fake Slack', main.ms, 'ms', 0);
        report.info('click body size, mean', mainClicks.reduce((n, r) => n + r.bytes, 0) / mainClicks.length / 1024, 'KiB', 1);
        report.info(`building + signing ${TICKS} clicks (not timed below)`, buildMs, 'ms', 0);
        report.info('warm-up (cold process): p50 / p99', `${percentile(warmup.run.latencies, 50).toFixed(1)} / ${percentile(warmup.run.latencies, 99).toFixed(1)} ms`);

        report.note(`USERS (the goal): ${TICK_USERS} users at once, each sending its ${TICKS / TICK_USERS} clicks one after another (next once the previous is acked)`);
        report.note(`${TICK_ROUNDS} rounds, each on a fresh instance, control and Preflight alternating; the goal is the ratio to the control`);
        tickRatios(report, rounds);
        report.note('round 1 in detail:');
        tickRows(report, 'users', users);
        report.note(`BURST (context): all ${TICKS} clicks in flight at once, on a fresh instance (\`burst\`) so every item is open again`);
        tickRows(report, 'burst', all);

        if (ctx.shared.bareP99Ms !== undefined) report.info('bare Bolt p99, /runbook section (in-process, concurrency 20)', ctx.shared.bareP99Ms, 'ms', 2);
        else report.note('bare Bolt p99 from the /runbook section: that section did not run');
        controlRows(report, 'users', controlUsers, users.run);
        controlRows(report, 'burst', controlBurst, all.run);
      } finally {
        // SIGTERM: Preflight flushes pending message updates before its pool closes.
        await app.stop();
      }
      await tickStatementAlone(report, database.url);
    } finally {
      updates.stop();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

// ───────────────────────────── sections ─────────────────────────────

/**
 * EXTENSION POINT: the benchmarks, in order. Adding one is one `Section` here: startPreflight(ctx) for the
 * app on a fresh schema (its sim signs commands and actions), drive(n, concurrency, send) for the load,
 * ctx.shared for figures of earlier sections (bareP99Ms once `latency` ran), report.figure(...) per goal.
 */
export const sections: Section[] = [corpusLoad, runbookLatency, memory, coldStart, standalone, checklistTicks, pgliteMemory, replicasSection, rollbackSection, oncallSection, readinessBench, askBench];

/** Runs the sections (all, or BENCH_ONLY's) and prints every figure; never fails on a missed goal. */
export async function main(list: Section[] = sections): Promise<void> {
  const pgUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
  const chosen = only?.length ? list.filter((s) => only.includes(s.id)) : list;
  const report = new Report();
  const ctx: BenchContext = {
    pgUrl,
    runbooksDir: corpusDir(),
    slack: new FakeSlack(),
    signingSecret: SIGNING_SECRET,
    report,
    shared: { memoryAtStart: process.memoryUsage() },
  };
  await ctx.slack.start();
  const pgVersion = await serverVersion(pgUrl).catch((err: Error) => `unreachable (${err.message})`);
  console.log(`Preflight bench — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, PostgreSQL ${pgVersion}`);
  console.log(`database ${new URL(pgUrl).host}${new URL(pgUrl).pathname}; sections: ${chosen.map((s) => s.id).join(', ')}`);
  // Other work on the machine moves every figure; the load average says how much to trust them.
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const crashed: string[] = [];
  try {
    for (const section of chosen) {
      report.header(section.title);
      try {
        await section.run(ctx);
      } catch (err) {
        crashed.push(section.id);
        report.note(`SECTION FAILED: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    }
  } finally {
    await ctx.slack.stop();
    rmSync(ctx.runbooksDir, { recursive: true, force: true });
  }
  console.log(`\nload average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`missed goals: ${report.missed.length ? report.missed.join('; ') : 'none'}${crashed.length ? `; crashed sections: ${crashed.join(', ')}` : ''}`);
  // Goals only print; a section that could not run at all is a failure of the bench itself.
  if (crashed.length) process.exitCode = 1;
}

// Run when executed (npm run bench), not when imported by another bench file.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
