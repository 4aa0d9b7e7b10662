/**
 * Issue 12's figures: checklist tick throughput with 1 and with 3 Preflight instances on one PostgreSQL schema
 * (in this process, round-robin as a load balancer would), as ratios to a bare Bolt app in the same run, and
 * the chat.update calls each posted message gets for the whole deployment. `BENCH_ONLY=replicas npm run bench`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot, type Preflight } from '../src/boot.ts';
import { loadConfig } from '../src/config.ts';
import type { FakeMessage } from '../src/console/fakeSlack.ts';
import { SlackSimulator, type SlackUser } from '../src/console/simulator.ts';
import { openDb, type Db } from '../src/db/index.ts';
import { createLogger } from '../src/log.ts';
import { createSchema } from '../test/support/pg.ts';
import { drive, median, percentile, sleep, startBareBolt, type LoadResult } from './lib.ts';
import type { BenchContext, Section } from './run.ts';

const SECTIONS = 30;
const PER_SECTION = 10;
const TICKS = SECTIONS * PER_SECTION;
const CONCURRENCY = 10;
const ROUNDS = 3;
const USERS: SlackUser[] = Array.from({ length: 20 }, (_, i) => ({ id: `UREPLB${String(i).padStart(2, '0')}`, name: `ticker${i}` }));

/** A deployment of n instances on one fresh schema, each with its own pool, as separate processes would have. */
async function deployment(ctx: BenchContext, n: number, runbooksDir: string): Promise<{ apps: Preflight[]; sims: SlackSimulator[]; stop(): Promise<void> }> {
  const schema = await createSchema(ctx.pgUrl, 'benchrepl');
  const dbs: Db[] = [];
  const apps: Preflight[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const db = await openDb({ url: ctx.pgUrl, schema: schema.schema });
      dbs.push(db);
      const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_SIGNING_SECRET: ctx.signingSecret, SLACK_API_URL: ctx.slack.apiUrl, RUNBOOKS_DIR: runbooksDir, LOG_LEVEL: 'silent' });
      apps.push(await boot(config, { mode: 'http', token: 'xoxb-bench', signingSecret: ctx.signingSecret, port: 0, host: '127.0.0.1', apiUrl: ctx.slack.apiUrl }, { db, watch: false, log: createLogger('silent') }));
    }
  } catch (err) {
    for (const a of apps) await a.stop().catch(() => undefined);
    for (const db of dbs) await db.close().catch(() => undefined);
    await schema.drop();
    throw err;
  }
  return {
    apps,
    sims: apps.map((a) => new SlackSimulator(`http://127.0.0.1:${a.port}/slack/events`, ctx.signingSecret, ctx.slack)),
    async stop() {
      for (const a of apps) await a.stop();
      for (const db of dbs) await db.close();
      await schema.drop();
    },
  };
}

interface Box {
  message: FakeMessage;
  blockId: string;
  actionId: string;
  options: Array<{ value: string; text: { type: string; text: string } }>;
}

function boxes(messages: FakeMessage[]): Box[] {
  return messages.flatMap((message) =>
    ((message.blocks ?? []) as Array<{ type: string; block_id?: string; elements?: Array<{ type: string; action_id: string; options: Box['options'] }> }>)
      .filter((b) => b.type === 'actions')
      .flatMap((b) => (b.elements ?? []).filter((e) => e.type === 'checkboxes').map((e) => ({ message: structuredClone(message), blockId: b.block_id!, actionId: e.action_id, options: e.options }))),
  );
}

/** Creates and posts a fresh checklist through the first instance; the clicks that tick each of its items once. */
async function fresh(ctx: BenchContext, sims: SlackSimulator[], name: string) {
  const made = await sims[0]!.command('/checklist', `new launch ${name}`, USERS[0]!, 'CREPLSETUP');
  if (!JSON.stringify(made.body).includes('Created')) throw new Error(`/checklist new ${name}: ${JSON.stringify(made.body)}`);
  const channel = `CREPL${name.toUpperCase().replace(/[^A-Z0-9]/g, '')}`;
  await sims[0]!.command('/checklist', name, USERS[0]!, channel);
  const t0 = performance.now();
  while (boxes(ctx.slack.channelMessages(channel)).reduce((n, b) => n + b.options.length, 0) < TICKS) {
    if (performance.now() - t0 > 20_000) throw new Error(`checklist ${name} not posted`);
    await sleep(10);
  }
  const messages = ctx.slack.channelMessages(channel);
  // Each click: the element as first posted (nothing ticked) + one item, as users on a stale copy would send.
  const clicks = boxes(messages).flatMap((b) => b.options.map((o) => ({ b, o })));
  return { messages, clicks };
}

type Clicks = Awaited<ReturnType<typeof fresh>>['clicks'];

/** Sends every click, click i through sims[i % sims.length], CONCURRENCY at a time. */
function send(sims: SlackSimulator[], clicks: Clicks): Promise<LoadResult> {
  return drive(clicks.length, CONCURRENCY, async (i) => {
    const { b, o } = clicks[i]!;
    const res = await sims[i % sims.length]!.check(USERS[i % USERS.length]!, { action_id: b.actionId, block_id: b.blockId }, [o], { message: b.message });
    return res.status === 200;
  });
}

const rate = (r: LoadResult) => (TICKS / r.wallMs) * 1000;
const spread = (xs: number[], digits = 2) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

export const replicasSection: Section = {
  id: 'replicas',
  title: `Several instances (issue 12): ${TICKS} ticks through 1 and 3 instances on one PostgreSQL schema`,
  async run(ctx) {
    const { report, slack } = ctx;
    const dir = mkdtempSync(join(tmpdir(), 'preflight-bench-replicas-'));
    const lines = ['# Replicated launch'];
    for (let s = 1; s <= SECTIONS; s++) {
      lines.push('', `## Area ${s}`);
      for (let i = 1; i <= PER_SECTION; i++) lines.push(`- [ ] Check ${i} of area ${s}`);
    }
    writeFileSync(join(dir, 'launch.md'), lines.join('\n'));
    const updates: Array<{ key: string; at: number }> = [];
    const onCall = (c: { method: string; body: Record<string, unknown> }) => {
      if (c.method === 'chat.update') updates.push({ key: `${String(c.body.channel)}:${String(c.body.ts)}`, at: performance.now() });
    };
    slack.on('call', onCall);
    const bare = await startBareBolt(ctx.signingSecret, slack.apiUrl);
    const bareSim = new SlackSimulator(bare.endpoint, ctx.signingSecret, slack);
    const one = await deployment(ctx, 1, dir);
    const three = await deployment(ctx, 3, dir);
    const load0 = loadavg()[0]!;
    const figures = { bare: [] as LoadResult[], one: [] as LoadResult[], three: [] as LoadResult[] };
    const perMessage = { one: [] as number[], three: [] as number[] };
    const perSecond = { one: [] as number[], three: [] as number[] };
    try {
      const round = async (label: 'one' | 'three', d: typeof one, name: string, timed: boolean) => {
        const { messages, clicks } = await fresh(ctx, d.sims, name);
        const since = performance.now();
        const run = await send(d.sims, clicks);
        if (run.failures) report.note(`${label}/${name}: ${run.failures} clicks not answered 200`);
        for (const a of d.apps) await a.deps.redraws.settled(60_000);
        if (!timed) return;
        figures[label].push(run);
        for (const m of messages) {
          const times = updates.filter((u) => u.key === `${m.channel}:${m.ts}` && u.at >= since).map((u) => u.at);
          perMessage[label].push(times.length);
          // Most calls to this message in any one second (sliding window).
          perSecond[label].push(Math.max(0, ...times.map((t) => times.filter((x) => x >= t && x < t + 1000).length)));
        }
      };
      // Warm-up of each, then alternating rounds so drift on a shared machine hits all three alike.
      await send([bareSim], (await fresh(ctx, one.sims, 'warm-bare')).clicks);
      await round('one', one, 'warm-one', false);
      await round('three', three, 'warm-three', false);
      for (let k = 0; k < ROUNDS; k++) {
        figures.bare.push(await send([bareSim], (await fresh(ctx, one.sims, `bare-${k}`)).clicks));
        await round('one', one, `one-${k}`, true);
        await round('three', three, `three-${k}`, true);
      }
    } finally {
      slack.off('call', onCall);
      await three.stop();
      await one.stop();
      await bare.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    report.note(`${cpus().length} cores for everything: PostgreSQL, the instances, the bare Bolt app, the fake Slack and the clients share them; load average before: ${load0.toFixed(2)}`);
    report.note(`all in this process; each instance has its own pool on the one schema; ${CONCURRENCY} clicks in flight, click i through instance i mod n; ${ROUNDS} rounds (median, min–max), after a warm-up`);
    report.info('bare Bolt (acks only): ticks/s', spread(figures.bare.map(rate), 0));
    for (const [label, n] of [['one', 1], ['three', 3]] as const) {
      const rs = figures[label];
      report.info(`${n} instance${n > 1 ? 's' : ''}: ticks/s`, spread(rs.map(rate), 0));
      report.info(`${n} instance${n > 1 ? 's' : ''}: ticks/s ÷ bare Bolt`, spread(rs.map((r, k) => rate(r) / rate(figures.bare[k]!))));
      report.info(`${n} instance${n > 1 ? 's' : ''}: click p99 ÷ bare Bolt p99`, spread(rs.map((r, k) => percentile(r.latencies, 99) / percentile(figures.bare[k]!.latencies, 99))));
      report.info(`${n} instance${n > 1 ? 's' : ''}: chat.update calls per message per round`, spread(perMessage[label], 1));
      report.figure(`${n} instance${n > 1 ? 's' : ''}: most chat.update calls to one message in 1 s`, Math.max(...perSecond[label]), 'calls', { op: '<=', at: 1, unit: 'calls' }, 0);
    }
    report.info('3 instances ÷ 1 instance: ticks/s', spread(figures.three.map((r, k) => rate(r) / rate(figures.one[k]!))));
  },
};
