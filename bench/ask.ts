/**
 * `BENCH_ONLY=ask npm run bench`: /runbook ask (issue 10). Retrieval quality on the question set
 * (test/fixtures/ask/questions.json) per retrieval variant, without a model; then ask's latency over signed HTTP
 * without a model (the answer is the acknowledgement) and with an instant local model (the answer arrives
 * through response_url), each against the bare Bolt app in the same run, in alternating rounds.
 */
import { boot } from '../src/boot.ts';
import { loadConfig } from '../src/config.ts';
import { SlackSimulator, type SlackUser } from '../src/console/simulator.ts';
import { createLogger } from '../src/log.ts';
import { searchSections } from '../src/runbooks/store.ts';
import { FULL_RETRIEVAL, retrieve, type RetrievalOptions } from '../src/ask/store.ts';
import { askQuestions, hitRank } from '../test/support/askQuestions.ts';
import { FakeOpenAI } from '../test/support/fakeOpenAI.ts';
import { drive, freshSchema, percentile, startBareBolt, startPreflight, type LoadResult } from './lib.ts';
import type { BenchContext, Section } from './run.ts';

const USER: SlackUser = { id: 'UBENCHASK', name: 'bench' };
const ROUNDS = 4;
const PER_ROUND = 100;
const CONCURRENCY = 4;

/** Each improvement on top of the last; `search` is /runbook search's query (every word must match, ts_rank). */
const VARIANTS: Array<{ name: string; opts: RetrievalOptions | 'search' }> = [
  { name: '/runbook search as is (websearch AND, ts_rank)', opts: 'search' },
  { name: 'any word, ts_rank', opts: { fields: false, websearch: false, trigram: false, synonyms: false } },
  { name: '+ idf by field: heading, path + runbook, body', opts: { fields: true, websearch: false, trigram: false, synonyms: false } },
  { name: '+ websearch_to_tsquery bonus', opts: { fields: true, websearch: true, trigram: false, synonyms: false } },
  { name: '+ pg_trgm heading similarity', opts: { fields: true, websearch: true, trigram: true, synonyms: false } },
  { name: '+ ops synonyms (ask as shipped)', opts: FULL_RETRIEVAL },
];

/** Latencies of one target over alternating rounds, pooled and per round. */
interface Timed {
  pooled: LoadResult;
  rounds: LoadResult[];
}

async function rounds(targets: Array<(i: number) => Promise<boolean>>): Promise<Timed[]> {
  const out = targets.map((): Timed => ({ pooled: { latencies: [], failures: 0, wallMs: 0 }, rounds: [] }));
  for (const t of targets) await drive(20, CONCURRENCY, t);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < targets.length; k++) {
      const i = (k + round) % targets.length;
      const r = await drive(PER_ROUND, CONCURRENCY, targets[i]!);
      out[i]!.rounds.push(r);
      out[i]!.pooled.latencies.push(...r.latencies);
      out[i]!.pooled.failures += r.failures;
      out[i]!.pooled.wallMs += r.wallMs;
    }
  }
  return out;
}

function latencyFigures(ctx: BenchContext, label: string, app: Timed, bare: Timed): void {
  const { report } = ctx;
  const p99 = percentile(app.pooled.latencies, 99);
  const bareP99 = percentile(bare.pooled.latencies, 99);
  report.info(`${label}: p50`, percentile(app.pooled.latencies, 50), 'ms', 1);
  report.figure(`${label}: p99`, p99, 'ms', { op: '<', at: 3000, unit: 'ms' }, 1);
  report.info(`${label}: p99 / bare Bolt p99`, p99 / bareP99, '×', 1);
  report.info(`${label}: p99 ratio per round`, app.rounds.map((r, i) => (percentile(r.latencies, 99) / percentile(bare.rounds[i]!.latencies, 99)).toFixed(1)).join(' '));
  report.figure(`${label}: failed or wrong answers`, app.pooled.failures, '', { op: '=', at: 0, unit: '' }, 0);
}

export const askBench: Section = {
  id: 'ask',
  title: '/runbook ask: retrieval hit@1/hit@3 per variant (no model), ask latency vs bare Bolt, PostgreSQL',
  async run(ctx) {
    const { report } = ctx;
    const questions = askQuestions();
    const app = await startPreflight(ctx);
    const bare = await startBareBolt(ctx.signingSecret, ctx.slack.apiUrl);
    try {
      const db = app.preflight.deps.db;
      report.note(`${questions.length} questions over the seed and the corpus; a hit is a named section or one of its subsections`);
      for (const v of VARIANTS) {
        let h1 = 0;
        let h3 = 0;
        const t0 = performance.now();
        for (const q of questions) {
          const got = v.opts === 'search' ? await searchSections(db, q.question, () => undefined, 3) : await retrieve(db, q.question, 3, v.opts);
          const rank = hitRank(q, got);
          if (rank === 1) h1++;
          if (rank !== undefined && rank <= 3) h3++;
        }
        const ms = (performance.now() - t0) / questions.length;
        const last = v.opts === FULL_RETRIEVAL;
        const pct1 = (100 * h1) / questions.length;
        const pct3 = (100 * h3) / questions.length;
        if (last) {
          report.figure(`${v.name}: hit@1`, pct1, '%', { op: '>=', at: 70, unit: '%' }, 0);
          report.figure(`${v.name}: hit@3`, pct3, '%', { op: '>=', at: 90, unit: '%' }, 0);
        } else report.info(v.name, `hit@1 ${pct1.toFixed(0)}%  hit@3 ${pct3.toFixed(0)}%`);
        report.info(`  mean retrieval time`, ms, 'ms', 1);
      }

      // Without a model the closest sections are the acknowledgement: its latency is ask's.
      const bareSim = new SlackSimulator(bare.endpoint, ctx.signingSecret, ctx.slack);
      const text = (i: number) => `ask ${questions[i % questions.length]!.question}`;
      const answered = (body: unknown) => JSON.stringify(body).includes('closest sections');
      const [noModel, bareRuns] = await rounds([
        async (i) => {
          const res = await app.sim.command('/runbook', text(i), USER);
          return res.status === 200 && answered(res.body);
        },
        async (i) => (await bareSim.command('/runbook', text(i), USER)).status === 200,
      ]);
      report.note(`${ROUNDS} alternating rounds × ${PER_ROUND} questions per app, ${CONCURRENCY} in flight`);
      latencyFigures(ctx, 'ask, no model (ack is the answer)', noModel!, bareRuns!);
      await withModel(ctx, questions.map((q) => q.question), bareRuns!);
    } finally {
      await bare.stop();
      await app.stop();
    }
  },
};

/** Ask with an instant local model: command sent → the answer's message at the fake Slack (ack, retrieval, model, respond). */
async function withModel(ctx: BenchContext, questions: string[], bare: Timed): Promise<void> {
  const openai = new FakeOpenAI();
  await openai.start();
  openai.reply({ content: { answer: 'Follow the cited section.', citations: ['S1'], commands: [] } });
  const fresh = await freshSchema(ctx.pgUrl, 'benchask');
  const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_SIGNING_SECRET: ctx.signingSecret, SLACK_API_URL: ctx.slack.apiUrl, RUNBOOKS_DIR: ctx.runbooksDir, LOG_LEVEL: 'silent', OPENAI_API_KEY: 'sk-bench-0123456789abcdef', OPENAI_BASE_URL: openai.baseUrl });
  const preflight = await boot(config, { mode: 'http', token: 'xoxb-bench', signingSecret: ctx.signingSecret, port: 0, host: '127.0.0.1', apiUrl: ctx.slack.apiUrl }, { db: fresh.db, watch: false, log: createLogger('silent') });
  const sim = new SlackSimulator(`http://127.0.0.1:${preflight.port}/slack/events`, ctx.signingSecret, ctx.slack);
  try {
    // Each request gets its own user, so its answer is told apart from the others in flight.
    let seq = 0;
    const ack: number[] = [];
    const one = async (i: number) => {
      const user = { id: `UASK${++seq}`, name: 'bench' };
      const arrived = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => done(false), 15000);
        const onMessage = (m: { user?: string; text?: string }) => {
          if (m.user === user.id) done(!!m.text && !m.text.includes('closest sections'));
        };
        const done = (ok: boolean) => {
          clearTimeout(timer);
          ctx.slack.off('message', onMessage);
          resolve(ok);
        };
        ctx.slack.on('message', onMessage);
      });
      const t0 = performance.now();
      const res = await sim.command('/runbook', `ask ${questions[i % questions.length]}`, user);
      ack.push(performance.now() - t0);
      return res.status === 200 && (await arrived);
    };
    const [model] = await rounds([one]);
    ctx.report.note('the bare Bolt figures are those of the rounds above (same run)');
    latencyFigures(ctx, 'ask, instant local model (until the answer arrives)', model!, bare);
    ctx.report.info('ask with a model: acknowledgement p99', percentile(ack, 99), 'ms', 1);
  } finally {
    await preflight.stop();
    await fresh.drop();
    await openai.stop();
  }
}
