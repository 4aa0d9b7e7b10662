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
  return { ...spawnDriven(['--import', 'tsx', 'src/main.ts'], full), dataDir };
}

/** A node process of the project (`node ...args` in its root) driven through standard input and read from its output. */
export interface DrivenProcess extends Omit<ConsoleProcess, 'dataDir' | 'kill'> {
  pid: number;
  /** Sends a signal (SIGKILL by default, which also ends the safety deadline). */
  kill(signal?: NodeJS.Signals): void;
}

/** Spawns `node ...args` in the project root with `env`; killed, and so failing its test, after `deadline` ms. */
export function spawnDriven(args: string[], env: NodeJS.ProcessEnv, deadline = STARTUP_MS + 120_000): DrivenProcess {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), deadline);
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
    pid: child.pid!,
    out: () => stripAnsi(out),
    err: () => err,
    type: (line) => void child.stdin.write(`${line}\n`),
    async waitFor(text, from = 0, ms = 30_000) {
      const until = Date.now() + ms;
      for (;;) {
        const at = find(text, from);
        if (at >= 0) return at;
        if (child.exitCode !== null) assert.fail(`exited (${child.exitCode}) before showing "${String(text)}":\n${stripAnsi(out)}\n${err}`);
        if (Date.now() > until) assert.fail(`no "${String(text)}" within ${ms} ms:\n${stripAnsi(out).slice(from)}\n${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    exited,
    kill(signal = 'SIGKILL') {
      if (signal === 'SIGKILL') clearTimeout(killer);
      child.kill(signal);
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
