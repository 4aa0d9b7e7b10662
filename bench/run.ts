/**
 * `npm run bench`: Preflight's figures next to their goals (issues #2 and #3). It only prints: a missed goal
 * is a MISS line, never a non-zero exit; a section that crashes is reported and sets exit code 1.
 *
 * PostgreSQL: BENCH_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test. Every section works in its own
 * schema or database and removes it. BENCH_ONLY=corpus,latency runs only the named sections.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { FakeSlack } from '../src/console/fakeSlack.ts';
import { SlackSimulator, type SlackUser } from '../src/console/simulator.ts';
import { RunbookLibrary } from '../src/runbooks/library.ts';
import { runbookCommand } from '../src/runbooks/listeners.ts';
import {
  corpusDir,
  drive,
  freePort,
  freshDatabase,
  fullGc,
  median,
  percentile,
  prng,
  runbookIds,
  Report,
  serverVersion,
  sleep,
  startBareBolt,
  startPreflight,
  type LoadResult,
} from './lib.ts';

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
    report.note('Preflight alone is measured as a child process in the last section');
    report.figure('rss (this process)', m.rss / MB, 'MB', { op: '<', at: 150, unit: 'MB' });
    report.info('heapUsed', m.heapUsed / MB, 'MB');
    report.info('heapTotal', m.heapTotal / MB, 'MB');
    if (shared.heapRetainedAfterLoad !== undefined) report.info('heapUsed after a full GC', shared.heapRetainedAfterLoad / MB, 'MB');
    if (shared.memoryAtStart) report.info('rss of this process before any section', shared.memoryAtStart.rss / MB, 'MB');
  },
};

// ───────────────────────────── 4. cold start ─────────────────────────────

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const REPO = fileURLToPath(new URL('..', import.meta.url));
const COLD_RUNS = 3;
const HEALTHY_WITHIN_MS = 15_000;
// Preflight's own variables are not inherited, so the child sees only what this bench sets.
const PREFLIGHT_ENV = /^(SLACK_|DIGEST_|OPENAI_|PREFLIGHT_)|^(PORT|DATABASE_URL|RUNBOOKS_DIR|ADMIN_USERS|LOG_LEVEL)$/;

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
  /** Spawn to first 200 from /healthz. */
  healthyMs: number;
  /** SIGTERM, then waits for exit (SIGKILL after 5 s); resolves with the time it took. */
  stop(): Promise<number>;
}

/** Spawns `node --import tsx src/main.ts` against the fake Slack and databaseUrl; throws with its stderr if it never gets healthy. */
async function spawnPreflight(ctx: BenchContext, databaseUrl: string): Promise<Child> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !PREFLIGHT_ENV.test(k)));
  Object.assign(env, {
    SLACK_BOT_TOKEN: 'xoxb-bench',
    SLACK_SIGNING_SECRET: ctx.signingSecret,
    SLACK_API_URL: ctx.slack.apiUrl,
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    RUNBOOKS_DIR: ctx.runbooksDir,
    LOG_LEVEL: 'silent',
  });
  const t0 = performance.now();
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN], { cwd: REPO, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  let exited = false;
  const exit = once(proc, 'exit').then(() => (exited = true));
  const stop = async () => {
    const s0 = performance.now();
    if (!exited) proc.kill('SIGTERM');
    // Bounded: a child that ignores SIGTERM for 5 s is killed.
    const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(killer);
    return performance.now() - s0;
  };
  const base = `http://127.0.0.1:${port}`;
  try {
    return { base, healthyMs: await untilHealthy(`${base}/healthz`, t0, () => exited), stop };
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}${stderr ? `\n${stderr}` : ''}`);
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
  title: 'Cold start to healthy: `node --import tsx src/main.ts` on PostgreSQL',
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
  title: 'Preflight alone (own process): /runbook load, then RSS',
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

// ───────────────────────────── sections ─────────────────────────────

/**
 * EXTENSION POINT: the benchmarks, in order. Adding one is one `Section` here, e.g. issue #3's
 * "500 concurrent ticks from 50 users on PostgreSQL: ticks/s, p50/p99, lost count" —
 * startPreflight(ctx) for the app on a fresh schema (its sim signs the actions), drive(500, 50, send) for
 * the load, ctx.shared.bareP99Ms for the bare Bolt app's p99 (set when `latency` ran first), and
 * report.figure(...) for each goal.
 */
export const sections: Section[] = [corpusLoad, runbookLatency, memory, coldStart, standalone];

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
