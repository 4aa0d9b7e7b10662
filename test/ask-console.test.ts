import assert from 'node:assert/strict';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openConsole, STARTUP_MS } from './support/console.ts';
import { runbooksDir, SEED } from './support/harness.ts';

// `/runbook ask …` in the local console (npm start without Slack tokens), on its own PGlite and without a model.

test('the console answers /runbook ask with the closest sections, the Rollback Plan first with its commands, and opens it by number', async () => {
  const runbooks = runbooksDir({ 'production-readiness.md': '' });
  cpSync(SEED, join(runbooks, 'production-readiness.md'));
  const cli = openConsole(runbooks);
  try {
    let at = await cli.waitFor('preflight> ', 0, STARTUP_MS);
    cli.type('/runbook ask how do I roll back the database');
    const start = at;
    at = await cli.waitFor('No model configured: the closest sections are…', at);
    at = await cli.waitFor('preflight> ', at);
    const answer = cli.out().slice(start, at);
    assert.match(answer, /1\. Production Readiness Checklist › 🆘 Rollback Plan/, answer);
    assert.ok(answer.split('\n').some((l) => l.trim() === 'docker-compose down api'), `the command on a line of its own:\n${answer}`);
    // The first Open button is [1] on screen.
    const button = /\[ ?(\d+)\] Open/.exec(answer);
    assert.ok(button, `an Open button:\n${answer}`);
    cli.type(button[1]!);
    at = await cli.waitFor('pg_restore -h localhost -U postgres -d hamsaya /backups/latest.sql', at);
    cli.type('quit');
    assert.equal((await cli.exited).code, 0, cli.err());
  } finally {
    cli.kill();
    rmSync(cli.dataDir, { recursive: true, force: true });
    rmSync(runbooks, { recursive: true, force: true });
  }
});
