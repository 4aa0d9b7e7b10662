import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Starting the console (tsx, PGlite, migrations) is slow on a busy machine; later steps are quick. */
export const STARTUP_MS = 180_000;

export const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

/** `npm start`'s entry point in console mode, driven through its standard input. */
export interface ConsoleProcess {
  /** Everything printed so far, without colours. */
  out(): string;
  err(): string;
  /** The data folder of its own PGlite. */
  dataDir: string;
  type(line: string): void;
  /** Waits until the output after `from` contains text (or matches it); returns the position after it. */
  waitFor(text: string | RegExp, from?: number, ms?: number): Promise<number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

/**
 * The real entry point with no Slack variables (console mode) and its own embedded database even in the
 * PostgreSQL run, over `runbooks`; `env` adds or overrides variables.
 */
export function openConsole(runbooks: string, env: Record<string, string> = {}): ConsoleProcess {
  const dataDir = env.PREFLIGHT_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'preflight-data-'));
  const full: NodeJS.ProcessEnv = { ...process.env, PREFLIGHT_DATA_DIR: dataDir, RUNBOOKS_DIR: runbooks, USER: 'tester', ...env };
  for (const key of Object.keys(full)) if (/^(SLACK_|OPENAI_|DATABASE_URL$|PORT$|NODE_TEST_CONTEXT$)/.test(key) && !(key in env)) delete full[key];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: full, stdio: ['pipe', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), STARTUP_MS + 120_000);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal });
    }),
  );
  const find = (text: string | RegExp, from: number): number => {
    const shown = stripAnsi(out);
    if (typeof text === 'string') {
      const at = shown.indexOf(text, from);
      return at < 0 ? -1 : at + text.length;
    }
    const r = new RegExp(text.source, text.flags.includes('g') ? text.flags : `${text.flags}g`);
    r.lastIndex = from;
    const m = r.exec(shown);
    return m ? m.index + m[0].length : -1;
  };
  return {
    out: () => stripAnsi(out),
    err: () => err,
    dataDir,
    type: (line) => void child.stdin.write(`${line}\n`),
    async waitFor(text, from = 0, ms = 30_000) {
      const until = Date.now() + ms;
      for (;;) {
        const at = find(text, from);
        if (at >= 0) return at;
        if (child.exitCode !== null) assert.fail(`console exited (${child.exitCode}) before showing "${String(text)}":\n${stripAnsi(out)}\n${err}`);
        if (Date.now() > until) assert.fail(`no "${String(text)}" within ${ms} ms:\n${stripAnsi(out).slice(from)}\n${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    exited,
    kill() {
      clearTimeout(killer);
      child.kill('SIGKILL');
    },
  };
}

/** Types quit and checks the console exits by itself, with code 0 and no error printed. */
export async function quitCleanly(cli: ConsoleProcess): Promise<void> {
  cli.type('quit');
  const { code, signal } = await cli.exited;
  assert.equal(signal, null, 'the console exits by itself');
  assert.equal(code, 0, cli.err());
  assert.doesNotMatch(cli.err(), /Error/, 'no error printed');
}
