import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { boot, type Preflight } from '../../src/boot.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { FakeSlack } from '../../src/console/fakeSlack.ts';
import { SlackSimulator, type SlackUser } from '../../src/console/simulator.ts';
import { openDb, type Db } from '../../src/db/index.ts';
import { createLogger } from '../../src/log.ts';
import type { Block } from '../../src/runbooks/model.ts';
import { freshSchema } from './pg.ts';
import { FIXTURES, validateSlack } from './validator.ts';

export const SIGNING_SECRET = 'test-signing-secret-0123456789';
export const SEED = new URL('seed/000_958a511dffd2001a.txt', FIXTURES);
export const CORPUS = new URL('corpus/runbooks/', FIXTURES);
/** The PostgreSQL server that CI and this machine run, for tests that need a real server either way. */
export const TEST_PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh database for one test file: a new schema on PostgreSQL when DATABASE_URL is set, else in-memory PGlite. */
export async function freshDb(url = process.env.DATABASE_URL): Promise<{ db: Db; schema?: string; drop(): Promise<void> }> {
  if (!url) {
    const db = await openDb({});
    return { db, drop: () => db.close() };
  }
  return freshSchema(url);
}

/** A runbooks folder in a temp dir with the given files (path → Markdown). */
export function runbooksDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'preflight-runbooks-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** The corpus and the seed (as given, mis-decoded) in one temp folder. */
export function corpusDir(): string {
  const dir = runbooksDir({ 'production-readiness.md': '' });
  cpSync(SEED, join(dir, 'production-readiness.md'));
  cpSync(CORPUS, join(dir, 'corpus'), { recursive: true });
  return dir;
}

export function testConfig(env: Record<string, string | undefined>): Config {
  return loadConfig({ SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: SIGNING_SECRET, LOG_LEVEL: 'silent', ...env });
}

export interface TestApp {
  preflight: Preflight;
  slack: FakeSlack;
  sim: SlackSimulator;
  db: Db;
  url: string;
  stop(): Promise<void>;
}

/** Boots the real app over HTTP on a fresh database, with a validating fake Slack behind SLACK_API_URL; resolves once it has checked its token. */
export async function startApp(opts: { runbooks: string; env?: Record<string, string>; now?: () => Date; rateLimit?: Record<string, number>; db?: Db; /** Reload runbooks on file change (off unless a test is about it). */ watch?: boolean; /** Scheduler poll interval; 0: the test runs `deps.jobs.runDue()` itself (injected clocks). */ pollMs?: number }): Promise<TestApp> {
  const slack = new FakeSlack({ validate: validateSlack, rateLimit: opts.rateLimit });
  await slack.start();
  const fresh = opts.db ? undefined : await freshDb();
  const db = opts.db ?? fresh!.db;
  const config = testConfig({ RUNBOOKS_DIR: opts.runbooks, SLACK_API_URL: slack.apiUrl, ...opts.env });
  const preflight = await boot(config, { mode: 'http', token: 'xoxb-test', signingSecret: SIGNING_SECRET, port: 0, host: '127.0.0.1', apiUrl: slack.apiUrl }, { db, watch: opts.watch ?? false, log: createLogger('silent'), now: opts.now, pollMs: opts.pollMs ?? 200 });
  // Bolt's token check (auth.test) has landed, so what a test counts of Slack's calls is its own.
  await eventually(() => assert.ok(slack.calls.some((c) => c.method === 'auth.test'), 'the app checked its token with Slack'));
  const url = `http://127.0.0.1:${preflight.port}`;
  const sim = new SlackSimulator(`${url}/slack/events`, SIGNING_SECRET, slack);
  return {
    preflight,
    slack,
    sim,
    db,
    url,
    async stop() {
      await preflight.stop();
      await slack.stop();
      await fresh?.drop();
      rmSync(opts.runbooks, { recursive: true, force: true });
    },
  };
}

export const alice: SlackUser = { id: 'UALICE', name: 'alice' };
export const bob: SlackUser = { id: 'UBOB', name: 'bob' };

/**
 * Waits until check() passes or the time is up (for work a listener does after acknowledging). Every assertion
 * inside check carries a message (test/hardening-asserts.test.ts): without one, Node parses the test file to
 * build a message on each failed attempt, every 25 ms.
 */
export async function eventually<T>(check: () => T | Promise<T>, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (let attempt = 1; ; attempt++) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) {
        // Say it was retried, so a failure here is not read as a single unlucky check.
        if (err instanceof Error) err.message += ` (still failing after ${attempt} attempts over ${ms} ms)`;
        throw err;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Every text of every block (sections, fields, contexts, buttons…), joined by newlines, as a reader sees it. */
export function blockText(blocks: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.text === 'string') out.push(o.text);
      for (const [k, x] of Object.entries(o)) if (k !== 'text' || typeof x !== 'string') walk(x);
    }
  };
  walk(blocks);
  return out.join('\n');
}

/** Every line of every code block of a runbook's blocks, in lists and quotes too, as the file has them. */
export function codeLines(blocks: Block[]): string[] {
  return blocks.flatMap((b) => {
    if (b.kind === 'code') return b.code.split('\n');
    if (b.kind === 'list') return b.items.flatMap((i) => codeLines(i.blocks));
    if (b.kind === 'quote') return codeLines(b.blocks);
    return [];
  });
}
