/**
 * Issue 11 point 12: the embedded database's memory. Preflight as `npm start` runs it (dist/main.js, HTTP mode),
 * on PostgreSQL, on PGlite's first start (a new data directory) and on a PGlite restart (the same directory),
 * RSS when healthy and after a /runbook load; PGlite's figures as ratios to PostgreSQL's (goal ≤ 1.5×).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SlackSimulator } from '../src/console/simulator.ts';
import { drive, freePort, freshDatabase, median, npmStart, prng, runbookIds, sleep, spawnNode } from './lib.ts';
import type { BenchContext, Section } from './run.ts';

const MB = 1024 * 1024;
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const REPO = fileURLToPath(new URL('..', import.meta.url));
// The same environment and flags as `npm start` (package.json).
const START = npmStart();
const MAIN_ARGS = [...START.flags, MAIN];
const LOAD_N = 400;
const CONCURRENCY = 10;
const ROUNDS = Number(process.env.BENCH_PGMEM_ROUNDS ?? 2);
// A first PGlite start runs initdb (in a child) and indexes the corpus: slow on a busy machine.
const HEALTHY_WITHIN_MS = 300_000;

/** One Preflight process: its RSS when healthy and after the load. */
async function measure(ctx: BenchContext, vars: Record<string, string>): Promise<{ idle: number; loaded: number; healthyMs: number }> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (\`npm run bench\` does)`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = spawnNode(
    MAIN_ARGS,
    { ...START.env, SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_SIGNING_SECRET: ctx.signingSecret, SLACK_API_URL: ctx.slack.apiUrl, PORT: String(port), RUNBOOKS_DIR: ctx.runbooksDir, LOG_LEVEL: 'silent', ...vars },
    REPO,
  );
  try {
    for (;;) {
      if (child.exited()) throw new Error(`Preflight exited before it was healthy\n${child.stderr()}`);
      if (performance.now() - t0 > HEALTHY_WITHIN_MS) throw new Error(`not healthy within ${HEALTHY_WITHIN_MS} ms\n${child.stderr()}`);
      const ok = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200, () => false);
      if (ok) break;
      await sleep(50);
    }
    const healthyMs = performance.now() - t0;
    // Settle: whatever start-up left for the garbage collector is gone from the figures of a long-running process.
    await sleep(1000);
    const idle = await rss(base);
    const sim = new SlackSimulator(`${base}/slack/events`, ctx.signingSecret, ctx.slack);
    const ids = runbookIds(ctx.runbooksDir);
    const random = prng(20261201);
    // Shows and searches: both read the database (search is full-text over every section).
    const texts = Array.from({ length: LOAD_N }, (_, i) => (i % 4 === 0 ? `search ${['backup', 'restore database', 'alert firing', 'rollback'][i % 16 >> 2]}` : ids[Math.floor(random() * ids.length)]!));
    const load = await drive(LOAD_N, CONCURRENCY, async (i) => (await sim.command('/runbook', texts[i]!, { id: 'UBENCH', name: 'bench' })).status === 200);
    if (load.failures) throw new Error(`${load.failures} of ${LOAD_N} /runbook requests failed`);
    const loaded = await rss(base);
    return { idle, loaded, healthyMs };
  } finally {
    await child.stop();
  }
}

async function rss(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const m = /^process_resident_memory_bytes (\d+)/m.exec(text);
  if (!m) throw new Error('no process_resident_memory_bytes in /metrics');
  return Number(m[1]);
}

export const pgliteMemory: Section = {
  id: 'pgmem',
  title: 'Embedded database memory: Preflight (dist/main.js) RSS on PGlite next to PostgreSQL',
  async run(ctx) {
    const { report } = ctx;
    const runs: Record<'postgres' | 'first' | 'restart', Array<{ idle: number; loaded: number; healthyMs: number }>> = { postgres: [], first: [], restart: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const database = await freshDatabase(ctx.pgUrl);
      try {
        runs.postgres.push(await measure(ctx, { DATABASE_URL: database.url }));
      } finally {
        await database.drop();
      }
      const dataDir = join(mkdtempSync(join(tmpdir(), 'preflight-bench-pglite-')), 'data');
      try {
        runs.first.push(await measure(ctx, { PREFLIGHT_DATA_DIR: dataDir }));
        runs.restart.push(await measure(ctx, { PREFLIGHT_DATA_DIR: dataDir }));
      } finally {
        rmSync(join(dataDir, '..'), { recursive: true, force: true });
      }
    }
    const spread = (xs: number[]) => `${(median(xs) / MB).toFixed(0)} MB (${(Math.min(...xs) / MB).toFixed(0)}–${(Math.max(...xs) / MB).toFixed(0)})`;
    report.note(`${ROUNDS} rounds; each: PostgreSQL (fresh database), PGlite first start (new data directory), PGlite restart (same directory)`);
    report.note(`RSS from each process's /metrics when healthy (+1 s), and after ${LOAD_N} /runbook shows and searches (concurrency ${CONCURRENCY}); median (min–max)`);
    report.note('PGlite: the data directory is created by a short-lived child (src/db/pglite.ts), buffers sized for an embedded database');
    for (const [name, label] of [['postgres', 'PostgreSQL'], ['first', 'PGlite, first start'], ['restart', 'PGlite, restart']] as const) {
      report.info(`${label}: rss idle`, spread(runs[name].map((r) => r.idle)));
      report.info(`${label}: rss after load`, spread(runs[name].map((r) => r.loaded)));
      report.info(`${label}: spawn to healthy`, `${(median(runs[name].map((r) => r.healthyMs)) / 1000).toFixed(1)} s`);
    }
    const pg = { idle: median(runs.postgres.map((r) => r.idle)), loaded: median(runs.postgres.map((r) => r.loaded)) };
    for (const [name, label] of [['first', 'first start'], ['restart', 'restart']] as const) {
      report.figure(`PGlite ${label} ÷ PostgreSQL, rss idle`, median(runs[name].map((r) => r.idle)) / pg.idle, '×', { op: '<=', at: 1.5, unit: '×' }, 2);
      report.figure(`PGlite ${label} ÷ PostgreSQL, rss after load`, median(runs[name].map((r) => r.loaded)) / pg.loaded, '×', { op: '<=', at: 1.5, unit: '×' }, 2);
    }
  },
};
