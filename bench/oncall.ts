import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlackSimulator, type SlackUser } from '../src/console/simulator.ts';
import { plan, shiftsBetween, type Rotation } from '../src/oncall/rotation.ts';
import { drive, median, percentile, startBareBolt, startPreflight, type LoadResult } from './lib.ts';
import type { Section } from './run.ts';

const N = 2000;
const WARMUP = 200;
const CONCURRENCY = 20;
const ROUNDS = 4;
const USER: SlackUser = { id: 'UBENCH', name: 'bench' };
const ZONES = ['Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'UTC', 'America/Los_Angeles', 'Europe/London', 'Asia/Tokyo'];

/** n rotations of every kind: weekly, daily and 12-hourly, across zones with and without DST. */
function rotations(n: number): Rotation[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `r${i}`,
    name: `Rotation ${i}`,
    timezone: ZONES[i % ZONES.length]!,
    handoff: i % 3 === 0 ? { every: 'week', interval: 1, day: 'monday', time: '09:00' } : i % 3 === 1 ? { every: 'day', interval: 1, time: '08:30' } : { every: 'hour', interval: 12, time: '07:00' },
    start: '2026-01-05',
    members: Array.from({ length: 3 + (i % 5) }, (_, k) => `U${i}M${k}`),
  }));
}

const yaml = (list: Rotation[]) =>
  `rotations:\n${list
    .map((r) => `  - id: ${r.id}\n    name: ${r.name}\n    timezone: ${r.timezone}\n    handoff: { every: ${r.handoff.every}, interval: ${r.handoff.interval}, ${r.handoff.day ? `day: ${r.handoff.day}, ` : ''}time: "${r.handoff.time}" }\n    start: ${r.start}\n    members: [${r.members.join(', ')}]\n`)
    .join('')}`;

/** `/oncall` latency next to bare Bolt, and the cost of a year of shifts for 50 rotations. */
export const oncallSection: Section = {
  id: 'oncall',
  title: `/oncall over signed HTTP, concurrency ${CONCURRENCY}, PostgreSQL; a year of shifts for 50 rotations`,
  async run(ctx) {
    const { report } = ctx;
    const dir = mkdtempSync(join(tmpdir(), 'preflight-bench-oncall-'));
    writeFileSync(join(dir, 'oncall.yml'), yaml(rotations(5)));
    writeFileSync(join(dir, 'a.md'), '# A\n\nText.\n');
    const app = await startPreflight({ ...ctx, runbooksDir: dir });
    const bare = await startBareBolt(ctx.signingSecret, ctx.slack.apiUrl);
    try {
      const targets = [
        { name: 'preflight', command: '/oncall', sim: app.sim, ok: (b: unknown) => JSON.stringify(b).includes('Rotation 4') },
        // The bare app answers only /runbook (by acking): the same signed request, the floor of the transport.
        { name: 'bare', command: '/runbook', sim: new SlackSimulator(bare.endpoint, ctx.signingSecret, ctx.slack), ok: () => true },
      ];
      const send = (t: (typeof targets)[number]) => async () => {
        const res = await t.sim.command(t.command, '', USER);
        return res.status === 200 && t.ok(res.body);
      };
      for (const t of targets) await drive(WARMUP, CONCURRENCY, send(t));
      const rounds: LoadResult[][] = targets.map(() => []);
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which app goes first, so drift on a shared machine hits both alike.
        for (let k = 0; k < targets.length; k++) {
          const i = (k + round) % targets.length;
          rounds[i]!.push(await drive(N / ROUNDS, CONCURRENCY, send(targets[i]!)));
        }
      }
      const pooled = rounds.map((rs) => rs.flatMap((r) => r.latencies));
      const failures = rounds.map((rs) => rs.reduce((n, r) => n + r.failures, 0));
      const [pf, base] = pooled.map((l) => percentile(l, 99)) as [number, number];
      report.note(`${N} /oncall requests per app (5 rotations, now and next) after ${WARMUP} warm-up, in ${ROUNDS} alternating rounds`);
      report.info('/oncall p50', percentile(pooled[0]!, 50), 'ms', 2);
      report.info('/oncall p99', pf, 'ms', 2);
      report.info('bare Bolt p99', base, 'ms', 2);
      report.figure('/oncall failed or wrong answers', failures[0]!, '', { op: '=', at: 0, unit: '' }, 0);
      report.figure('/oncall p99 ratio preflight / bare', pf / base, '×', { op: '<=', at: 2, unit: '×' }, 2);
      const perRound = rounds[0]!.map((r, i) => percentile(r.latencies, 99) / percentile(rounds[1]![i]!.latencies, 99));
      report.info('p99 ratio per round (spread)', `${perRound.map((x) => x.toFixed(2)).join(' ')} (min ${Math.min(...perRound).toFixed(2)}, max ${Math.max(...perRound).toFixed(2)})`);
    } finally {
      await bare.stop();
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    }

    // Pure maths: every shift of 2027 for 50 rotations (a third each weekly, daily, 12-hourly).
    const list = rotations(50);
    const from = new Date('2027-01-01T00:00:00Z');
    const to = new Date('2028-01-01T00:00:00Z');
    let shifts = 0;
    const time = () => {
      const t0 = performance.now();
      shifts = list.reduce((n, r) => n + shiftsBetween(plan(r), from, to).length, 0);
      return performance.now() - t0;
    };
    const first = time();
    const runs = Array.from({ length: 7 }, time);
    report.note(`${shifts} shifts in all (${list.length} rotations over 2027, DST changes included)`);
    report.info('a year of shifts for 50 rotations, first run (cold JIT)', first, 'ms');
    // The issue sets no goal for this one: it is shown for scale (each handoff costs two tz-database offset lookups).
    report.info('a year of shifts for 50 rotations, median of 7', median(runs), 'ms');
    report.info('per shift, median run', (median(runs) * 1000) / shifts, 'µs', 1);
    report.info('min / max of 7', `${Math.min(...runs).toFixed(1)} / ${Math.max(...runs).toFixed(1)} ms`);
  },
};
