import assert from 'node:assert/strict';
import { parse as parseForm } from 'node:querystring';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { sign } from '../src/console/simulator.ts';
import { decodeFormValue, keepActedBlocks, parseSlackBody } from '../src/slack/receiver.ts';
import { alice, eventually, runbooksDir, SIGNING_SECRET, startApp, type TestApp } from './support/harness.ts';

// Preflight's receiver parses Slack's body once where Bolt's parses it twice; what it reads must be exactly
// what Bolt reads, and every answer Bolt's receiver gives (401, 400, 413, SSL check, URL verification) stays.

const FORM = 'application/x-www-form-urlencoded';
const form = (body: string) => parseSlackBody(Buffer.from(body), body, FORM);

test('a payload body reads exactly as querystring reads it, for any JSON and any encoding of it', () => {
  const json = fc.jsonValue().map((v) => JSON.stringify({ type: 'block_actions', v }));
  // Slack's encoding (URLSearchParams: `+` for spaces), and encodeURIComponent's (`%20`).
  const encoded = fc.tuple(json, fc.boolean()).map(([j, plus]) => ({ j, body: plus ? new URLSearchParams({ payload: j }).toString() : `payload=${encodeURIComponent(j)}` }));
  fc.assert(
    fc.property(encoded, ({ j, body }) => {
      assert.deepEqual(form(body), JSON.parse(j), body.slice(0, 200));
    }),
    { numRuns: 500 },
  );
});

test('any form value decodes as querystring decodes it: stray %, +, bad UTF-8 escapes, raw non-ASCII', () => {
  const piece = fc.oneof(
    fc.constantFrom('%', '%%', '%2', '%zz', '%41', '%e2%82%ac', '%E2%82', '%ED%A0%80', '%C0%AF', '+', '%2B', '%25', '=', 'é', '😀', '%F0%9F%98%80'),
    fc.string({ unit: 'binary', maxLength: 6 }),
  );
  const value = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join('').replaceAll('&', ''));
  fc.assert(
    fc.property(value, (v) => {
      const body = `payload=${v}`;
      const expected = parseForm(body).payload as string;
      const fast = decodeFormValue(Buffer.from(body), 'payload='.length);
      // Undefined only for raw non-ASCII bytes, which then go through querystring itself.
      if (fast === undefined) assert.ok(/[^\x00-\x7f]/.test(v), `declined a plain ASCII value: ${JSON.stringify(v)}`);
      else assert.equal(fast, expected, JSON.stringify(v));
    }),
    { numRuns: 2000 },
  );
});

test('a click keeps only the blocks it acted on, in its message and its view; other payloads are left as they are', () => {
  const blocks = (...ids: string[]) => ids.map((id) => ({ type: 'actions', block_id: id, elements: [] }));
  const click = { type: 'block_actions', actions: [{ block_id: 'b2', action_id: 'x' }], message: { ts: '1.2', blocks: blocks('b1', 'b2', 'b3') }, view: { id: 'V1', blocks: blocks('b2', 'b9') } };
  keepActedBlocks(click);
  assert.deepEqual(click.message, { ts: '1.2', blocks: blocks('b2') }, 'the message keeps the clicked block and its other fields');
  assert.deepEqual(click.view, { id: 'V1', blocks: blocks('b2') }, 'so does the view');
  const submission = { type: 'view_submission', view: { id: 'V2', blocks: blocks('b1', 'b2') } };
  keepActedBlocks(submission);
  assert.deepEqual(submission.view.blocks, blocks('b1', 'b2'), 'a form submission keeps its view');
});

test('bodies of several fields (slash commands) and JSON bodies (events) read as Bolt reads them', () => {
  const command = new URLSearchParams({ command: '/runbook', text: 'a & b = c + d %', user_id: 'U1' }).toString();
  assert.deepEqual({ ...form(command) }, { ...parseForm(command) });
  const event = JSON.stringify({ type: 'event_callback', event: { type: 'app_home_opened' } });
  assert.deepEqual(parseSlackBody(Buffer.from(event), event, 'application/json'), JSON.parse(event));
  assert.throws(() => form('payload=%7Bnot json'), /JSON/, 'a payload that is not JSON is malformed');
});

let app: TestApp;
before(async () => {
  app = await startApp({ runbooks: runbooksDir({ 'a.md': '# A\n\n## One\n\nText.\n' }) });
});
after(async () => app?.stop());

async function post(body: string, contentType: string, opts: { signed?: boolean; path?: string } = {}): Promise<{ status: number; text: string }> {
  const now = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'content-type': contentType };
  if (opts.signed !== false) Object.assign(headers, { 'x-slack-request-timestamp': String(now), 'x-slack-signature': sign(SIGNING_SECRET, now, body) });
  const res = await fetch(`${app.url}${opts.path ?? '/slack/events'}`, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}

test("Slack's SSL check is answered without a signature, and nothing else in it is looked at", async () => {
  const calls = app.slack.calls.length;
  const res = await post(new URLSearchParams({ ssl_check: '1', command: '/runbook', text: 'a', user_id: alice.id, channel_id: 'C1' }).toString(), FORM, { signed: false });
  assert.equal(res.status, 200, 'answered');
  assert.equal(res.text, '', 'with an empty body, as Bolt answers it');
  assert.equal(app.slack.calls.length, calls, 'the command riding along was not run');
});

test('URL verification gets its challenge back; a signed body that is not JSON gets 400, an unsigned one 401', async () => {
  const challenge = await post(JSON.stringify({ type: 'url_verification', challenge: 'c-123' }), 'application/json');
  assert.equal(challenge.status, 200, 'verified');
  assert.deepEqual(JSON.parse(challenge.text), { challenge: 'c-123' }, 'the challenge echoed');
  assert.equal((await post('payload=%7Bnot json', FORM)).status, 400, 'signed but malformed');
  assert.equal((await post('payload=%7Bnot json', FORM, { signed: false })).status, 401, 'unsigned and malformed: refused as unsigned');
  assert.equal((await post('{"type":', 'application/json')).status, 400, 'signed JSON that does not parse');
});

test('a body over 4 MB gets 413, and a query string on the endpoint still reaches the app', async () => {
  assert.equal((await post(`payload=${'a'.repeat(4 * 1024 * 1024 + 10)}`, FORM)).status, 413, 'too large');
  const res = await post(new URLSearchParams({ command: '/runbook', text: 'a', user_id: alice.id, channel_id: 'C1', response_url: app.slack.responseUrl(alice.id, 'C1') }).toString(), FORM, { path: '/slack/events?from=test' });
  assert.equal(res.status, 200, 'answered');
  assert.match(res.text, /One/, "the runbook's section is in the answer");
});

test("closing a form is not its submission: the listener of a form's submit never sees its view_closed", async () => {
  const calls = app.slack.calls.length;
  const closed = { type: 'view_closed', user: { id: alice.id, name: 'alice' }, team: { id: 'T0PREFLIGHT' }, view: { id: 'V1', type: 'modal', callback_id: 'rollback:skip_modal', private_metadata: '{}' }, is_cleared: false };
  const res = await app.sim.post({ payload: JSON.stringify(closed) });
  assert.equal(res.status, 200, 'acknowledged');
  // A submission would have been validated and answered with errors or a DM; closing changes and says nothing.
  assert.equal(res.body ?? '', '', 'acked with nothing');
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(app.slack.calls.slice(calls).map((c) => c.method), [], 'no message sent');
  const stale = await app.sim.submit(alice, { callback_id: 'legacy:form' });
  assert.equal(stale.status, 200, 'an unknown form is acknowledged');
  await eventually(() => assert.ok([...app.slack.messages.values()].some((m) => m.channel === alice.id && /older version of Preflight and was not saved/.test(m.text ?? '')), 'the user is told the form was not saved'));
});
