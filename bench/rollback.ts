/**
 * `/rollback` under stress (issue #7): the plan command's latency, and 200 concurrent step actions, against a
 * bare Bolt app that only acks, in the same process and the same run, on PostgreSQL. Alternating rounds; the
 * spread over rounds says how much of a ratio is the machine's noise.
 */
import type { FakeMessage } from '../src/console/fakeSlack.ts';
import { SlackSimulator, type SlackUser } from '../src/console/simulator.ts';
import { ROLLBACK_ACTIONS, startModal } from '../src/rollback/blocks.ts';
import { allPlans } from '../src/rollback/listeners.ts';
import { drive, percentile, sleep, startBareBolt, startPreflight, type LoadResult } from './lib.ts';
import type { BenchContext, Section } from './run.ts';

const PLAN_N = 1000;
const PLAN_WARMUP = 100;
const PLAN_CONCURRENCY = 20;
const ROUNDS = 4;
const CLICKS = 200;
const USER: SlackUser = { id: 'UBENCH', name: 'bench' };

interface Button {
  action_id: string;
  value?: string;
  block_id?: string;
}

function doneButtons(m: FakeMessage): Button[] {
  return ((m.blocks ?? []) as Array<{ type: string; block_id?: string; elements?: Button[] }>)
    .filter((b) => b.type === 'actions')
    .flatMap((b) => (b.elements ?? []).filter((e) => e.action_id.startsWith(`${ROLLBACK_ACTIONS.done}:`)).map((e) => ({ ...e, block_id: b.block_id })));
}

function pool(rounds: LoadResult[]): LoadResult {
  return { latencies: rounds.flatMap((r) => r.latencies), failures: rounds.reduce((n, r) => n + r.failures, 0), wallMs: rounds.reduce((n, r) => n + r.wallMs, 0) };
}

export const rollbackSection: Section = {
  id: 'rollback',
  title: `/rollback <plan> (concurrency ${PLAN_CONCURRENCY}) and ${CLICKS} concurrent step actions, PostgreSQL`,
  async run(ctx: BenchContext) {
    const { report } = ctx;
    const app = await startPreflight(ctx);
    const bare = await startBareBolt(ctx.signingSecret, ctx.slack.apiUrl);
    const bareSim = new SlackSimulator(bare.endpoint, ctx.signingSecret, ctx.slack);
    try {
      const plan = allPlans(app.preflight.deps).find((p) => p.runbookId === 'production-readiness');
      if (!plan) throw new Error('the seed has no rollback plan');
      const steps = plan.phases.reduce((n, p) => n + p.steps.length, 0);
      const runsPerRound = Math.ceil(CLICKS / steps);

      // /rollback <plan>: Preflight answers with the whole plan; bare Bolt acks an empty body.
      const planSend = (sim: SlackSimulator, command: string, check: (b: unknown) => boolean) => async () => {
        const res = await sim.command(command, 'production-readiness', USER);
        return res.status === 200 && check(res.body);
      };
      const showsPlan = (b: unknown) => JSON.stringify(b).includes('git checkout &lt;previous-commit&gt;');
      const pf = planSend(app.sim, '/rollback', showsPlan);
      const base = planSend(bareSim, '/runbook', () => true);
      await drive(PLAN_WARMUP, PLAN_CONCURRENCY, pf);
      await drive(PLAN_WARMUP, PLAN_CONCURRENCY, base);
      const planRounds: LoadResult[][] = [[], []];
      const clickRounds: LoadResult[][] = [[], []];
      let recorded = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 ? [1, 0] : [0, 1];
        for (const k of order) planRounds[k]!.push(await drive(PLAN_N / ROUNDS, PLAN_CONCURRENCY, k === 0 ? pf : base));

        // Runs started through their real form (the view Slack sends back), each posted in its own channel.
        const messages: FakeMessage[] = [];
        for (let r = 0; r < runsPerRound; r++) {
          const channel = `CBENCH${round}X${r}`;
          await app.sim.submit(USER, startModal(plan, { channel, drill: true }) as unknown as Record<string, unknown>, { reason: { value: 'bench' } });
          for (let i = 0; i < 200 && !ctx.slack.channelMessages(channel).length; i++) await sleep(10);
          const posted = ctx.slack.channelMessages(channel).find((m) => !m.thread_ts);
          if (!posted) throw new Error(`run not posted in ${channel}`);
          messages.push(structuredClone(posted));
        }
        const clicks = messages.flatMap((m) => doneButtons(m).map((b) => ({ m, b }))).slice(0, CLICKS);
        const users = clicks.map((_, i): SlackUser => ({ id: `UCLICK${i}`, name: `c${i}` }));
        for (const k of order) {
          const sim = k === 0 ? app.sim : bareSim;
          clickRounds[k]!.push(await drive(clicks.length, clicks.length, async (i) => (await sim.press(users[i]!, clicks[i]!.b, { message: clicks[i]!.m })).status === 200));
        }
        const rows = await app.db.query<{ n: string }>("select count(*) as n from rollback_events e join rollback_runs r on r.id = e.run_id where e.action = 'done' and r.channel like $1", [`CBENCH${round}X%`]);
        recorded += Number(rows[0]!.n);
        // Let this round's redraws and thread posts drain so they do not weigh on the next round.
        await sleep(1500);
        await app.preflight.deps.jobs.idle();
      }

      const rows = (name: string, r: LoadResult) => {
        const p50 = percentile(r.latencies, 50);
        const p99 = percentile(r.latencies, 99);
        report.info(`${name}: p50`, p50, 'ms', 2);
        report.info(`${name}: p99`, p99, 'ms', 2);
        return { p50, p99 };
      };
      const spread = (a: LoadResult[], b: LoadResult[]) => {
        const ratios = a.map((r, i) => percentile(r.latencies, 99) / percentile(b[i]!.latencies, 99));
        return `${ratios.map((x) => x.toFixed(2)).join(' ')} (min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)})`;
      };
      report.note(`${PLAN_N} /rollback production-readiness per app after ${PLAN_WARMUP} warm-up, ${ROUNDS} alternating rounds; the plan is 3 phases, ${steps} steps`);
      report.note(`per round ${CLICKS} Done clicks at once by ${CLICKS} users on ${runsPerRound} fresh runs (distinct steps, so every click writes); bare Bolt acks the same payloads`);
      const p = rows('/rollback preflight', pool(planRounds[0]!));
      const b = rows('/rollback bare', pool(planRounds[1]!));
      report.figure('/rollback p99 ratio preflight / bare', p.p99 / b.p99, '×', { op: '<=', at: 2, unit: '×' }, 2);
      report.info('/rollback p99 ratio per round', spread(planRounds[0]!, planRounds[1]!));
      report.info('/rollback p50 ratio preflight / bare', p.p50 / b.p50, '×', 2);
      report.figure('/rollback failed or wrong answers', pool(planRounds[0]!).failures, '', { op: '=', at: 0, unit: '' }, 0);
      const c = rows('step actions preflight', pool(clickRounds[0]!));
      const cb = rows('step actions bare', pool(clickRounds[1]!));
      report.figure(`${CLICKS} concurrent step actions p99 ratio`, c.p99 / cb.p99, '×', { op: '<=', at: 2, unit: '×' }, 2);
      report.info('step actions p99 ratio per round', spread(clickRounds[0]!, clickRounds[1]!));
      report.info('step actions p50 ratio preflight / bare', c.p50 / cb.p50, '×', 2);
      report.figure('step actions failed', pool(clickRounds[0]!).failures, '', { op: '=', at: 0, unit: '' }, 0);
      report.figure('step actions recorded (of sent)', recorded / (ROUNDS * CLICKS), '', { op: '=', at: 1, unit: '' }, 2);
    } finally {
      await bare.stop();
      await app.stop();
    }
  },
};
