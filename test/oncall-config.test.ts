import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../src/log.ts';
import { parseOncall, Rotations } from '../src/oncall/config.ts';
import { parseUser } from '../src/oncall/listeners.ts';
import { eventually, runbooksDir } from './support/harness.ts';

// oncall.yml: the zod schema with file:line errors, `preflight lint`, and reload keeping the last good rotations.

const GOOD = `rotations:
  - id: primary
    name: Primary on-call
    timezone: Europe/Berlin
    handoff: { every: week, day: monday, time: "09:00" }
    start: 2026-11-02
    members: [U0A1, U0A2, U0A3]
    channel: C0ONCALL
    usergroup: S0ONCALL
`;

const BAD = `rotations:
  - id: primary
    timezone: Mars/Olympus
    handoff: { every: day, time: "9am" }
    start: 2026-11-02
    members: [U0A1]
  - id: secondary
    timezone: UTC
    handoff: { every: week, day: monday, time: "09:00" }
    start: 2026-11-02
    members: ["@bob", U0A2]
  - id: primary
    timezone: UTC
    handoff: { every: day, time: "09:00" }
    start: 2026-11-02
`;

const temps: string[] = [];
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

test('the example rotation parses, with defaults filled in', () => {
  const { rotations, diagnostics } = parseOncall(GOOD);
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(rotations, [{ id: 'primary', name: 'Primary on-call', timezone: 'Europe/Berlin', handoff: { every: 'week', interval: 1, day: 'monday', time: '09:00' }, start: '2026-11-02', members: ['U0A1', 'U0A2', 'U0A3'], channel: 'C0ONCALL', usergroup: 'S0ONCALL' }]);
});

test('unknown zone, bad time, unknown member format and duplicate id are errors at their lines', () => {
  const { rotations, diagnostics } = parseOncall(BAD, 'runbooks/oncall.yml');
  assert.equal(rotations, undefined, 'a bad file yields no rotations');
  assert.deepEqual(
    diagnostics.map((d) => `${d.file}:${d.line}: ${d.message.split(':')[0]}`),
    ['runbooks/oncall.yml:3: rotations.0.timezone', 'runbooks/oncall.yml:4: rotations.0.handoff.time', 'runbooks/oncall.yml:11: rotations.1.members.0', 'runbooks/oncall.yml:12: rotations.2.id'],
  );
  assert.match(diagnostics[0]!.message, /unknown time zone "Mars\/Olympus"/);
  assert.match(diagnostics[1]!.message, /HH:MM/);
  assert.match(diagnostics[2]!.message, /Slack user id/);
  assert.match(diagnostics[3]!.message, /duplicate rotation id "primary" \(first at line 2\)/);
  assert.match(parseOncall('rotations: [\n').diagnostics[0]!.message, /./, 'broken YAML is reported too');
  assert.equal(parseOncall('rotations:\n  - id: x\n    timezone: UTC\n    handoff: { every: week, time: "09:00" }\n    start: 2026-11-02\n').diagnostics[0]!.line, 4, 'a weekly handoff without a day');
});

test('user arguments: escaped mentions with and without a name, and bare ids', () => {
  assert.equal(parseUser('<@U123ABC|bob>'), 'U123ABC');
  assert.equal(parseUser('<@U123ABC>'), 'U123ABC');
  assert.equal(parseUser('W123ABC'), 'W123ABC');
  for (const bad of ['bob', '@bob', '<!channel>', '<@U123|bob', 'u123abc', undefined]) assert.equal(parseUser(bad), undefined, `${bad} is not a user`);
});

/** Runs the real `preflight lint DIR`. */
async function lint(dir: string): Promise<{ code: number | null; stdout: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', PREFLIGHT_DATA_DIR: join(dir, '.no-data') };
  for (const key of Object.keys(env)) if (/^(SLACK_|DATABASE_URL$|NODE_TEST_CONTEXT$)/.test(key)) delete env[key];
  const cwd = mkdtempSync(join(tmpdir(), 'preflight-lint-'));
  temps.push(cwd);
  const child = spawn(process.execPath, [fileURLToPath(new URL('../bin/preflight.js', import.meta.url)), 'lint', dir], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout };
}

test('preflight lint reports oncall.yml errors as file:line and fails; the repo\'s runbooks pass', async () => {
  const dir = runbooksDir({ 'oncall.yml': BAD, 'a.md': '# A\n\nText.\n' });
  temps.push(dir);
  const bad = await lint(dir);
  assert.equal(bad.code, 1, bad.stdout);
  assert.match(bad.stdout, new RegExp(`${join(dir, 'oncall.yml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3: error: rotations\\.0\\.timezone: unknown time zone`));
  assert.match(bad.stdout, /oncall\.yml:12: error: rotations\.2\.id: duplicate/);
  const repo = await lint(fileURLToPath(new URL('../runbooks', import.meta.url)));
  assert.equal(repo.code, 0, `runbooks/ (with its oncall.yml) lints clean:\n${repo.stdout}`);
});

test('at run time a bad oncall.yml keeps the last good rotations, with a warning; a good one replaces them', async () => {
  const dir = runbooksDir({ 'oncall.yml': GOOD });
  temps.push(dir);
  const warnings: string[] = [];
  const log = createLogger('silent');
  log.warn = ((obj: unknown, msg?: string) => void warnings.push(`${msg} ${JSON.stringify(obj)}`)) as typeof log.warn;
  const rotations = new Rotations(dir, log);
  assert.equal(rotations.load(), true);
  rotations.watch();
  try {
    writeFileSync(join(dir, 'oncall.yml'), BAD);
    await eventually(() => assert.ok(warnings.some((w) => /keeping the last good rotations/.test(w) && /oncall\.yml:3/.test(w)), `warned: ${warnings}`));
    assert.deepEqual(rotations.all().map((r) => r.name), ['Primary on-call'], 'the last good rotations stay');
    writeFileSync(join(dir, 'oncall.yml'), GOOD.replace('Primary on-call', 'Primary v2'));
    await eventually(() => assert.deepEqual(rotations.all().map((r) => r.name), ['Primary v2'], 'reloaded'));
  } finally {
    rotations.close();
  }
});
