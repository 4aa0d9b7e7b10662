import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FakeSlack, type FakeMessage } from '../src/console/fakeSlack.ts';
import type { SlackUser } from '../src/console/simulator.ts';
import { openDb, type Db } from '../src/db/index.ts';
import { DIGEST_JOB, DIGEST_POST_JOB } from '../src/readiness/digest.ts';
import { listJobs } from '../src/jobs/store.ts';
import { alice, bob, eventually, freshDb, runbooksDir, SEED, startApp, type TestApp } from './support/harness.ts';
import { createSchema } from './support/pg.ts';
import { validateSlack } from './support/validator.ts';

// The digest: cron fires through the one scheduler, posted once per fire across instances and restarts.

const DIGEST = 'CDIGEST';

function seedDir(): string {
  const dir = runbooksDir({});
  copyFileSync(SEED, join(dir, 'production-readiness.md'));
  return dir;
}

const textOf = (m: FakeMessage) => JSON.stringify(m.blocks ?? []);

/** Ticks the item whose text contains `item` in the channel's checklist messages. */
async function tick(app: TestApp, channel: string, item: string, user: SlackUser = alice): Promise<void> {
  type El = { type: string; action_id: string; options: Array<{ text: { type: string; text: string }; value: string }>; initial_options?: Array<{ text: { type: string; text: string }; value: string }> };
  for (const message of app.slack.channelMessages(channel)) {
    for (const block of (message.blocks ?? []) as Array<{ block_id?: string; elements?: El[] }>) {
      for (const el of block.elements ?? []) {
        const option = el.type === 'checkboxes' ? el.options.find((o) => o.text.text.includes(item)) : undefined;
        if (!option) continue;
        const res = await app.sim.check(user, { action_id: el.action_id, block_id: block.block_id }, [...(el.initial_options ?? []), option], { message });
        assert.equal(res.status, 200, `tick ${item}`);
        return;
      }
    }
  }
  assert.fail(`no checkbox for ${item}`);
}

let shared: Awaited<ReturnType<typeof freshDb>>;
before(async () => {
  shared = await freshDb();
});
after(() => shared?.drop());

test('the digest fires on DIGEST_CRON in DIGEST_TIMEZONE, once, to the channel and to subscribers; unsubscribe stops the DM', async () => {
  let clock = new Date('2026-12-01T07:30:00Z'); // a Tuesday; 09:00 in Paris is 08:00Z
  const app = await startApp({ runbooks: seedDir(), db: shared.db, now: () => clock, pollMs: 0, env: { DIGEST_CHANNEL: DIGEST, DIGEST_CRON: '0 9 * * 1-5', DIGEST_TIMEZONE: 'Europe/Paris' } });
  try {
    await app.sim.command('/checklist', 'production-readiness', alice, 'CWORK');
    await eventually(() => assert.ok(app.slack.channelMessages('CWORK').length > 0, 'checklist posted'));
    await tick(app, 'CWORK', 'DNS records updated', alice);
    const sub = await app.sim.command('/readiness', 'subscribe', bob, 'CWORK');
    assert.match(JSON.stringify(sub.body), /Subscribed/);
    const again = await app.sim.command('/readiness', 'subscribe', bob, 'CWORK');
    assert.match(JSON.stringify(again.body), /already subscribed/);

    clock = new Date('2026-12-01T07:59:59Z');
    await app.preflight.deps.jobs.runDue();
    assert.equal(app.slack.channelMessages(DIGEST).length, 0, 'nothing before 09:00 Paris');

    clock = new Date('2026-12-01T08:00:20Z');
    await app.preflight.deps.jobs.runDue();
    await app.preflight.deps.jobs.runDue();
    const posted = app.slack.channelMessages(DIGEST);
    assert.equal(posted.length, 1, 'the fire is posted once');
    const dm = app.slack.channelMessages(bob.id);
    assert.equal(dm.length, 1, 'and sent once to the subscriber');
    const text = textOf(posted[0]!);
    assert.ok(text.includes('Readiness digest · 2026-12-01'), 'header');
    assert.ok(text.includes('*Overall 38%* · declared 90%'), `measured beside declared: ${text.slice(0, 500)}`);
    assert.ok(text.includes('<@UALICE> ticked 1 in *Production Readiness Checklist*: _DNS records updated_'), 'what was ticked in the last 24 hours, by whom');
    assert.ok(text.includes('Scheduled for <!date^1796112000^'), 'names its fire, with Slack date formatting');
    assert.ok(!text.includes('posted late'), 'on time');
    assert.ok(text.includes('Production Readiness Checklist is 38% ready: 21 of 56 items ticked'), 'the template summary without OPENAI_API_KEY');
    assert.deepEqual(validateSlack('blocks', posted[0]!.blocks, 'chat.postMessage'), []);

    const unsub = await app.sim.command('/readiness', 'unsubscribe', bob, 'CWORK');
    assert.match(JSON.stringify(unsub.body), /Unsubscribed/);
    clock = new Date('2026-12-02T08:00:05Z');
    await app.preflight.deps.jobs.runDue();
    assert.equal(app.slack.channelMessages(DIGEST).length, 2, 'the next day’s fire is posted');
    assert.equal(app.slack.channelMessages(bob.id).length, 1, 'no DM after unsubscribing');
    assert.deepEqual(app.slack.rejections, []);
  } finally {
    await app.stop();
  }
});

test('a fire missed while every instance was down is posted once on restart the same day, never twice; an earlier day’s never', async () => {
  const env = { DIGEST_CHANNEL: DIGEST, DIGEST_CRON: '30 10 * * *', DIGEST_TIMEZONE: 'UTC' };
  let clock = new Date('2026-12-05T09:00:00Z');
  const boot = () => startApp({ runbooks: seedDir(), db: shared.db, now: () => clock, pollMs: 0, env });
  const posts: FakeMessage[] = [];
  const run = async () => {
    const app = await boot();
    try {
      await app.preflight.deps.jobs.runDue();
      posts.push(...app.slack.channelMessages(DIGEST));
      assert.deepEqual(app.slack.rejections, []);
    } finally {
      await app.stop();
    }
  };
  await run();
  assert.equal(posts.length, 0, 'before the fire');
  clock = new Date('2026-12-05T15:00:00Z'); // down from 09:00 to 15:00: the 10:30 fire was missed
  await run();
  assert.equal(posts.length, 1, 'posted on restart');
  assert.ok(textOf(posts[0]!).includes('posted late because Preflight was down then'), 'says it is late');
  clock = new Date('2026-12-05T16:00:00Z');
  await run();
  assert.equal(posts.length, 1, 'a second restart posts nothing more');
  clock = new Date('2026-12-07T09:00:00Z'); // the 6th's fire was missed entirely: not posted on the 7th
  await run();
  assert.equal(posts.length, 1, 'a fire from an earlier day is not posted');
});

/** Three databases handles on one database: separate pools on one PostgreSQL schema, or one PGlite shared. */
async function threeDbs(): Promise<{ dbs: Db[]; drop(): Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const fresh = await freshDb();
    return { dbs: [fresh.db, fresh.db, fresh.db], drop: () => fresh.drop() };
  }
  const created = await createSchema(url, 'digest');
  const dbs = await Promise.all([0, 1, 2].map(() => openDb({ url, schema: created.schema })));
  return {
    dbs,
    async drop() {
      for (const db of dbs) await db.close();
      await created.drop();
    },
  };
}

test('three instances on one database with DIGEST_CRON every 2 seconds: each fire posted exactly once', async () => {
  const { dbs, drop } = await threeDbs();
  const apps: TestApp[] = [];
  try {
    for (const db of dbs) apps.push(await startApp({ runbooks: seedDir(), db, env: { DIGEST_CHANNEL: DIGEST, DIGEST_CRON: '*/2 * * * * *' } }));
    await eventually(async () => {
      const done = await listJobs(dbs[0]!, { name: DIGEST_JOB, states: ['done'] });
      assert.ok(done.length >= 3, `${done.length} fires done so far`);
    }, 20_000);
  } finally {
    for (const app of apps) await app.preflight.stop();
  }
  try {
    const posts = apps.flatMap((a) => a.slack.channelMessages(DIGEST));
    const fires = posts.map((m) => Number(/Scheduled for <!date\^(\d+)\^/.exec(textOf(m))?.[1]));
    const seconds = (key: string) => Date.parse(key.slice(0, key.lastIndexOf(':'))) / 1000;
    const postJobs = (await listJobs(dbs[0]!, { name: DIGEST_POST_JOB, states: ['done'] })).map((j) => seconds(j.key)).sort();
    const digests = (await listJobs(dbs[0]!, { name: DIGEST_JOB, states: ['done'] })).map((j) => j.runAt.getTime() / 1000).sort();
    assert.ok(fires.length >= 3, `${fires.length} fires posted`);
    assert.equal(new Set(fires).size, fires.length, `no fire posted twice: ${fires}`);
    assert.deepEqual([...fires].sort(), postJobs, 'one post per completed post job, across the three instances');
    assert.ok(fires.every((f) => digests.includes(f)), 'every post is of a fire the scheduler ran');
    // Fires are consecutive 2-second ticks: none was lost while the three ran.
    for (let i = 1; i < digests.length; i++) assert.equal(digests[i]! - digests[i - 1]!, 2, `fires ${digests[i - 1]} and ${digests[i]} are one tick apart`);
    for (const app of apps) assert.deepEqual(app.slack.rejections, []);
  } finally {
    for (const app of apps) await app.slack.stop();
    await drop();
  }
});

/** A local OpenAI-compatible chat completions server whose answer the test sets (or holds forever). */
class ReadinessFakeOpenAI {
  answer: string | 'hang' = '';
  requests = 0;
  private server = createServer((req, res) => void this.handle(req, res));
  private held: ServerResponse[] = [];
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for await (const _ of req);
    this.requests++;
    if (this.answer === 'hang') {
      this.held.push(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', created: 0, model: 'fake', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: this.answer } }] }));
  }
}

test('the model summary is used only when every number in it is in the data; a hanging model never delays the digest past 10 s', async () => {
  const model = new ReadinessFakeOpenAI();
  await model.start();
  const fresh = await freshDb();
  let clock = new Date('2026-12-01T08:59:00Z');
  const app = await startApp({ runbooks: seedDir(), db: fresh.db, now: () => clock, pollMs: 0, env: { DIGEST_CHANNEL: DIGEST, DIGEST_CRON: '0 9 * * *', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: model.url } });
  const latest = () => textOf(app.slack.channelMessages(DIGEST).at(-1)!);
  try {
    model.answer = 'Production Readiness Checklist is 36% ready, with 20 of 56 items ticked. 6 blockers remain before launch.';
    clock = new Date('2026-12-01T09:00:10Z');
    await app.preflight.deps.jobs.runDue();
    assert.equal(app.slack.channelMessages(DIGEST).length, 1, 'posted');
    assert.ok(latest().includes('is 36% ready, with 20 of 56 items ticked. 6 blockers remain before launch.'), `the model's summary: ${latest().slice(0, 400)}`);

    model.answer = 'Production Readiness Checklist is 37% ready, with 20 of 56 items ticked. Launch is in 3 days.';
    clock = new Date('2026-12-02T09:00:10Z');
    await app.preflight.deps.jobs.runDue();
    assert.equal(app.slack.channelMessages(DIGEST).length, 2, 'posted');
    assert.ok(!latest().includes('37%') && latest().includes('is 36% ready: 20 of 56 items ticked'), 'a number not in the data: the template instead');

    model.answer = 'hang';
    clock = new Date('2026-12-03T09:00:10Z');
    void app.preflight.deps.jobs.runDue();
    await eventually(() => assert.equal(app.slack.channelMessages(DIGEST).length, 3, 'the digest is posted while the model still hangs'), 10_000);
    assert.ok(latest().includes('is 36% ready: 20 of 56 items ticked'), 'with the template');
    assert.equal(model.requests, 3, 'the model was asked each time');
    assert.deepEqual(app.slack.rejections, []);
  } finally {
    await app.stop();
    await model.stop();
    await fresh.drop();
  }
});

test('preflight digest prints the digest as a dry run; --post posts it to DIGEST_CHANNEL', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'preflight-digest-'));
  const schema = process.env.DATABASE_URL ? await createSchema(process.env.DATABASE_URL, 'cli') : undefined;
  const slack = new FakeSlack({ validate: validateSlack });
  await slack.start();
  const runbooks = seedDir();
  const cli = async (args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, RUNBOOKS_DIR: runbooks, PREFLIGHT_DATA_DIR: join(cwd, 'data'), DATABASE_URL: schema?.url, LOG_LEVEL: 'silent', DIGEST_CHANNEL: 'CCLI', SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: 'test-signing-secret', SLACK_API_URL: slack.apiUrl };
    for (const key of Object.keys(env)) if (/^(NODE_TEST_CONTEXT|OPENAI_API_KEY)$/.test(key) || env[key] === undefined) delete env[key];
    const child = spawn(process.execPath, [fileURLToPath(new URL('../bin/preflight.js', import.meta.url)), 'digest', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    return { code, out };
  };
  try {
    const dry = await cli([]);
    assert.equal(dry.code, 0, dry.out);
    assert.ok(dry.out.includes('Overall 36% · declared 90% · 20/56'), `plain text: ${dry.out.slice(0, 400)}`);
    assert.ok(dry.out.includes('dry run: nothing posted; --post posts it to CCLI'), 'says it was a dry run');
    assert.equal(slack.channelMessages('CCLI').length, 0, 'nothing posted on a dry run');
    const posted = await cli(['--post']);
    assert.equal(posted.code, 0, posted.out);
    assert.match(posted.out, /Posted the digest to CCLI/);
    assert.equal(slack.channelMessages('CCLI').length, 1, 'posted once');
    assert.ok(textOf(slack.channelMessages('CCLI')[0]!).includes('*Overall 36%* · declared 90%'), 'the same digest');
    assert.deepEqual(slack.rejections, []);
  } finally {
    await slack.stop();
    await schema?.drop();
    rmSync(cwd, { recursive: true, force: true });
    rmSync(runbooks, { recursive: true, force: true });
  }
});
