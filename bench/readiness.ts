// Bench for issue 9: /readiness latency next to the bare Bolt app, and the digest's compute time.
import type { Instance, ItemState } from '../src/checklist/domain.ts';
import { SlackSimulator, type SlackUser } from '../src/console/simulator.ts';
import { digestBlocks } from '../src/readiness/blocks.ts';
import { BOARD_MAX_AGE_MS, boardReads } from '../src/readiness/digest.ts';
import { byUrgency, dayBefore, readiness, type Snapshot } from '../src/readiness/domain.ts';
import { templateSummary } from '../src/readiness/summary.ts';
import { parseRunbook } from '../src/runbooks/parse.ts';
import { drive, median, percentile, prng, startBareBolt, startPreflight, type LoadResult } from './lib.ts';
import type { Section } from './run.ts';

// A round's p99 is its 10th-worst answer: rounds of 1000 (not 300) keep it from being one stall on a shared machine.
const N = 6000;
const WARMUP = 500;
const CONCURRENCY = 20;
const ROUNDS = 6;
const USER: SlackUser = { id: 'UBENCH', name: 'bench' };

const spread = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;

/** A runbook of 20 sections × 10 items (200), some HIGH PRIORITY, with gates over half the sections. */
function bigRunbook() {
  const lines = ['---', 'gates:', '  Beta: [area-2, area-4, area-6]', '  Production: [area-2, area-4, area-6, area-8, area-10, area-12, area-14, area-16, area-18, area-20]', '---', '# Big launch'];
  for (let s = 1; s <= 20; s++) {
    lines.push('', `## Area ${s}${s % 3 ? '' : ' (HIGH PRIORITY)'}`);
    for (let i = 1; i <= 10; i++) lines.push(`- [ ] Check ${s}.${i} of the big launch`);
  }
  return parseRunbook('big', 'big.md', lines.join('\n'));
}

export const readinessBench: Section = {
  id: 'readiness',
  title: `/readiness <checklist> over signed HTTP, concurrency ${CONCURRENCY}, PostgreSQL; digest compute for 100 × 200 items`,
  async run(ctx) {
    const { report } = ctx;
    const app = await startPreflight(ctx);
    const bare = await startBareBolt(ctx.signingSecret, ctx.slack.apiUrl);
    try {
      const targets = [
        { name: 'preflight', sim: app.sim, ok: (b: unknown) => JSON.stringify(b).includes('Overall 36%') },
        { name: 'bare', sim: new SlackSimulator(bare.endpoint, ctx.signingSecret, ctx.slack), ok: () => true },
      ];
      // The bare app's /runbook only acks: the floor of a signed command through Bolt.
      const send = (t: (typeof targets)[number]) => async () => {
        const res = await t.sim.command(t.name === 'bare' ? '/runbook' : '/readiness', 'production-readiness', USER);
        return res.status === 200 && t.ok(res.body);
      };
      for (const t of targets) await drive(WARMUP, CONCURRENCY, send(t));
      const reads0 = boardReads(app.db);
      const rounds: LoadResult[][] = [[], []];
      // CPU of this process per request: the driver's share is the same for both, so the difference is the app's.
      const cpuMs: number[][] = [[], []];
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which app goes first, so drift on a shared machine falls on both.
        for (let k = 0; k < 2; k++) {
          const i = (k + round) % 2;
          const c0 = process.cpuUsage();
          rounds[i]!.push(await drive(Math.ceil(N / ROUNDS), CONCURRENCY, send(targets[i]!)));
          const c = process.cpuUsage(c0);
          cpuMs[i]!.push((c.user + c.system) / 1000 / Math.ceil(N / ROUNDS));
        }
      }
      const pooled = rounds.map((rs) => rs.flatMap((r) => r.latencies));
      const [pf, base] = pooled.map((l) => ({ p50: percentile(l, 50), p99: percentile(l, 99) }));
      report.note(`${N} requests per app after ${WARMUP} warm-up, ${ROUNDS} alternating rounds of ${Math.ceil(N / ROUNDS)}; /readiness production-readiness (the seed, 56 items) vs a Bolt app that only acks`);
      report.info('preflight /readiness: p50', pf!.p50, 'ms', 2);
      report.info('preflight /readiness: p99', pf!.p99, 'ms', 2);
      report.info('bare: p50', base!.p50, 'ms', 2);
      report.info('bare: p99', base!.p99, 'ms', 2);
      report.figure('/readiness failed or wrong answers', rounds[0]!.reduce((n, r) => n + r.failures, 0), '', { op: '=', at: 0, unit: '' }, 0);
      report.figure('p99 ratio /readiness / bare', pf!.p99 / base!.p99, '×', { op: '<=', at: 2, unit: '×' }, 2);
      const perRound = rounds[0]!.map((r, i) => percentile(r.latencies, 99) / percentile(rounds[1]![i]!.latencies, 99));
      report.info('p99 ratio per round: median (min–max)', `${median(perRound).toFixed(2)} (${spread(perRound)})`);
      report.info('p50 ratio /readiness / bare', pf!.p50 / base!.p50, '×', 2);
      // Nothing is written while the bench asks: the board statement runs once per BOARD_MAX_AGE_MS or so.
      report.info(`board statements run (cache at most ${BOARD_MAX_AGE_MS} ms old; a local write clears it)`, `${boardReads(app.db) - reads0} for ${N} requests`);
      report.info('CPU ms per request (driver + app), preflight / bare: median', `${median(cpuMs[0]!).toFixed(2)} / ${median(cpuMs[1]!).toFixed(2)}`);
    } finally {
      await bare.stop();
      await app.stop();
    }

    // The digest's computation: scores, blockers, gates, trend and Block Kit for 100 instances × 200 items.
    const runbook = bigRunbook();
    const random = prng(9);
    const now = new Date('2026-12-01T09:00:00Z');
    const data = Array.from({ length: 100 }, (_, n) => {
      const instance: Instance = { id: `launch-${n}`, runbookId: 'big', name: `Launch ${n}`, launchDate: `2027-01-${String((n % 28) + 1).padStart(2, '0')}`, createdBy: 'UBENCH', createdAt: now };
      const state = new Map<string, ItemState>(runbook.tasks.map((t) => [t.key, { key: t.key, checked: random() < 0.5, owner: random() < 0.3 ? 'UOWNER' : undefined, dueAt: random() < 0.2 ? new Date(now.getTime() - 3600e3) : undefined }]));
      const snapshots: Snapshot[] = Array.from({ length: 14 }, (_, d) => ({ day: dayBefore('2026-12-01', d + 1), done: 90, total: 200, score: 45 }));
      return { instance, state, snapshots };
    });
    const computeOnce = () => {
      const list = data.map((d) => readiness(d.instance, runbook, d.state, { now, zone: 'UTC', snapshots: d.snapshots })).sort(byUrgency);
      return digestBlocks({ at: now, day: '2026-12-01', list, recent: [], summary: templateSummary(list), extras: {} }).length;
    };
    for (let i = 0; i < 5; i++) computeOnce();
    const times: number[] = [];
    const cpu: number[] = [];
    let blocks = 0;
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      blocks = computeOnce();
      const c = process.cpuUsage(c0);
      times.push(performance.now() - t0);
      cpu.push((c.user + c.system) / 1000);
    }
    report.note(`30 runs after 5 warm-up; in memory (the database reads are the /readiness figures above); ${blocks} blocks out`);
    report.figure('digest compute, 100 × 200 items (median)', median(times), 'ms', { op: '<', at: 50, unit: 'ms' }, 1);
    report.info('digest compute p90 / spread', `${percentile(times, 90).toFixed(1)} ms / ${spread(times)} ms`);
    // CPU time is what the computation itself costs; wall time also counts waiting for a core on a busy machine.
    report.info('digest compute CPU time (median)', median(cpu), 'ms', 1);
  },
};
