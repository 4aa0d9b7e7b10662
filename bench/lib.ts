import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { boot, type Preflight } from '../src/boot.ts';
import { loadConfig } from '../src/config.ts';
import type { FakeSlack } from '../src/console/fakeSlack.ts';
import { SlackSimulator } from '../src/console/simulator.ts';
import type { Db } from '../src/db/index.ts';
import { createLogger } from '../src/log.ts';
import { markdownFiles, runbookId } from '../src/runbooks/library.ts';
import { freshSchema, withClient } from '../test/support/pg.ts';

export const CORPUS = fileURLToPath(new URL('../test/fixtures/corpus/runbooks/', import.meta.url));
export const SEED = fileURLToPath(new URL('../test/fixtures/seed/000_958a511dffd2001a.txt', import.meta.url));

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

/** Sends request i, records its latency, and says whether it was answered right (a throw counts as wrong). */
async function timed(send: (i: number) => Promise<boolean>, i: number, latencies: number[]): Promise<boolean> {
  const started = performance.now();
  try {
    return await send(i);
  } catch {
    return false;
  } finally {
    latencies[i] = performance.now() - started;
  }
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
    for (let i = next++; i < n; i = next++) if (!(await timed(send, i, latencies))) failures++;
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, failures, wallMs: performance.now() - t0 };
}

/**
 * Runs sessions side by side, each sending its requests one after another (the next once the previous is
 * answered), as people clicking at the same time do; `send(i)` gets the request index, latency is per index.
 */
export async function driveSessions(sessions: number[][], send: (i: number) => Promise<boolean>): Promise<LoadResult> {
  const n = sessions.reduce((m, s) => Math.max(m, ...s.map((i) => i + 1)), 0);
  const latencies = new Array<number>(n).fill(NaN);
  let failures = 0;
  const session = async (indexes: number[]) => {
    for (const i of indexes) if (!(await timed(send, i, latencies))) failures++;
  };
  const t0 = performance.now();
  await Promise.all(sessions.map(session));
  return { latencies: latencies.filter((l) => !Number.isNaN(l)), failures, wallMs: performance.now() - t0 };
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

export { freshSchema, withClient };

/** A fresh database next to the one at url (a child process migrates `public`, so it gets its own). */
export async function freshDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `preflight_bench_${randomBytes(4).toString('hex')}`;
  await withClient(url, (c) => c.query(`create database ${name}`));
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    // with (force) ends any connection a killed child left behind (PostgreSQL ≥ 13).
    drop: () => withClient(url, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

/** Server version, for the header. */
export function serverVersion(url: string): Promise<string> {
  return withClient(url, async (c) => String((await c.query<{ server_version: string }>('show server_version')).rows[0]?.server_version ?? '?'));
}

// ───────────────────────────── processes ─────────────────────────────

// Preflight's own variables are not inherited, so a child sees only what the bench sets.
const PREFLIGHT_ENV = /^(SLACK_|DIGEST_|OPENAI_|PREFLIGHT_)|^(PORT|DATABASE_URL|RUNBOOKS_DIR|ADMIN_USERS|LOG_LEVEL)$/;

/** A node process the bench started (Preflight, or the bare Bolt app), with the tails of its output. */
export interface NodeChild {
  pid: number;
  exited(): boolean;
  /** The last 2000 characters of its stderr, for error messages. */
  stderr(): string;
  /** The first match of re in its stdout (waits for it); throws if the process exits first or ms pass. */
  stdoutMatch(re: RegExp, ms: number): Promise<RegExpExecArray>;
  /** SIGTERM, then waits for exit (SIGKILL after 5 s); resolves with the time it took. */
  stop(): Promise<number>;
}

/**
 * How `npm start` runs Preflight, read from package.json so the bench cannot drift from it: the environment it
 * sets (`VAR=value` before `node`) and node's flags before the script.
 */
export function npmStart(): { env: Record<string, string>; flags: string[]; script: string } {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (words[0] && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const [name, ...value] = words.shift()!.split('=');
    env[name!] = value.join('=');
  }
  if (words.shift() !== 'node') throw new Error(`package.json start does not run node: ${pkg.scripts.start}`);
  const script = words.pop()!;
  return { env, flags: words, script };
}

/** Spawns `node ...args` in cwd with this process's environment less Preflight's variables, plus vars. */
export function spawnNode(args: string[], vars: Record<string, string>, cwd: string): NodeChild {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !PREFLIGHT_ENV.test(k)));
  Object.assign(env, vars);
  const proc = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  proc.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-2000)));
  let exited = false;
  const exit = once(proc, 'exit').then(() => (exited = true));
  return {
    pid: proc.pid!,
    exited: () => exited,
    stderr: () => stderr,
    async stdoutMatch(re, ms) {
      const deadline = performance.now() + ms;
      for (;;) {
        const m = re.exec(stdout);
        if (m) return m;
        if (exited) throw new Error(`exited before printing ${re}${stderr ? `\n${stderr}` : ''}`);
        if (performance.now() > deadline) throw new Error(`did not print ${re} within ${ms} ms${stderr ? `\n${stderr}` : ''}`);
        await sleep(10);
      }
    },
    async stop() {
      const s0 = performance.now();
      if (!exited) proc.kill('SIGTERM');
      // Bounded: a child that ignores SIGTERM for 5 s is killed.
      const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(killer);
      return performance.now() - s0;
    },
  };
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux; undefined elsewhere or once it is gone). */
export function processCpuMs(pid: number): number | undefined {
  try {
    // Fields after the parenthesised command name: state is 3rd, utime 14th, stime 15th (in clock ticks, 100 a second).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU time of the whole machine (all cores) so far, in ms. */
export function machineCpu(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

// ───────────────────────────── the baseline ─────────────────────────────

export { startBareBolt } from './bare-bolt.ts';

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
  const fresh = await freshSchema(opts.pgUrl, 'bench');
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
