import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { boot, type Preflight } from '../src/boot.ts';
import { FakeSlack } from '../src/console/fakeSlack.ts';
import { createLogger } from '../src/log.ts';
import { alice, eventually, freshDb, runbooksDir, SEED, testConfig } from './support/harness.ts';
import { FIXTURES, validateSlack } from './support/validator.ts';
import { WsServer, type WsConnection } from './support/websocket.ts';

// Socket Mode end to end with no real Slack: Bolt's SocketModeReceiver asks the fake Slack for a socket URL
// (apps.connections.open), connects to a local WebSocket server, and answers a slash command envelope over it.

const FIXTURE = JSON.parse(readFileSync(new URL('slack/payloads/slash_command.node-slack-sdk-socket-mode-fixture.json', FIXTURES), 'utf8')) as { envelope_id: string; payload: Record<string, string>; type: string; accepts_response_payload: boolean };

let ws: WsServer;
let slack: FakeSlack;
let fresh: Awaited<ReturnType<typeof freshDb>>;
let preflight: Preflight | undefined;
let client: WsConnection;
let runbooks: string;

before(async () => {
  ws = new WsServer();
  const socketUrl = await ws.start();
  slack = new FakeSlack({ validate: validateSlack, socketUrl });
  await slack.start();
  fresh = await freshDb();
  runbooks = runbooksDir({ 'production-readiness.md': '' });
  cpSync(SEED, join(runbooks, 'production-readiness.md'));
  const config = testConfig({ RUNBOOKS_DIR: runbooks, SLACK_API_URL: slack.apiUrl, SLACK_APP_TOKEN: 'xapp-test' });
  assert.equal(config.mode, 'socket');
  // Bolt's start() resolves only once Slack says hello on the socket, so hello is sent as the client connects.
  ws.once('connection', (c) => c.send({ type: 'hello', num_connections: 1, debug_info: { host: 'applink-test', build_number: 1, approximate_connection_time: 18060 }, connection_info: { app_id: 'A0PREFLIGHT' } }));
  preflight = await boot(config, { mode: 'socket', token: 'xoxb-test', appToken: 'xapp-test', port: 0, apiUrl: slack.apiUrl }, { db: fresh.db, watch: false, log: createLogger('silent') });
  client = await ws.connection();
});

let closedScaffolding = false;
async function closeScaffolding(): Promise<void> {
  if (closedScaffolding) return;
  closedScaffolding = true;
  await ws?.stop();
  await slack?.stop();
  await fresh?.drop();
  rmSync(runbooks, { recursive: true, force: true });
}

after(async () => {
  await preflight?.stop();
  await closeScaffolding();
});

test('the socket client got its URL from apps.connections.open and connected once', () => {
  const opens = slack.calls.filter((c) => c.method === 'apps.connections.open');
  assert.equal(opens.length, 1);
  assert.equal(ws.connections.length, 1);
  assert.equal(client.closed, false);
});

test('a /runbook slash command envelope is acked over the socket with the rollback blocks as payload', async () => {
  const envelope = {
    ...FIXTURE,
    envelope_id: 'e7b5c2a0-socket-mode-runbook',
    payload: { ...FIXTURE.payload, user_id: alice.id, user_name: alice.name, command: '/runbook', text: 'production-readiness rollback', response_url: slack.responseUrl(alice.id, 'C111') },
  };
  client.send(envelope);
  const raw = await client.next((m) => (JSON.parse(m) as { envelope_id?: string }).envelope_id === envelope.envelope_id);
  const ack = JSON.parse(raw) as { envelope_id: string; payload: { response_type?: string; blocks?: unknown[]; text?: string } };
  assert.deepEqual(Object.keys(ack).sort(), ['envelope_id', 'payload']);
  assert.equal(ack.payload.response_type, 'ephemeral');
  assert.ok(Array.isArray(ack.payload.blocks) && ack.payload.blocks.length > 0, raw.slice(0, 500));
  assert.deepEqual(validateSlack('blocks', ack.payload.blocks, 'ack'), []);
  const json = JSON.stringify(ack.payload.blocks);
  assert.ok(json.includes('docker-compose down api'), json.slice(0, 2000));
  assert.ok(json.includes('Rollback Plan'));
  assert.ok(!json.includes('Security Checklist'), 'only the rollback section');
  // The whole answer is the acknowledgement: nothing went to the response_url or the Web API.
  assert.deepEqual(slack.calls.filter((c) => c.method.startsWith('chat.')), []);
  assert.equal(slack.messages.size, 0);
});

test("the client's heartbeat pings are answered and the socket stays up", async () => {
  // The client pings every clientPingTimeout / 3 (about 1.7 s) and drops the socket after 5 s without a pong.
  const until = Date.now() + 4000;
  while (client.pings === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.ok(client.pings > 0, 'the client sent a ping');
  assert.equal(client.closed, false);
  assert.equal(ws.connections.length, 1, 'no reconnect');
});

test('stop() resolves once the socket is closed with a normal close handshake, and leaves nothing running', async () => {
  await preflight!.stop();
  preflight = undefined;
  // The close frame (1000, normal closure) reached Slack before stop() resolved: a SIGTERM exit right after
  // it cannot cut the handshake short.
  assert.equal(client.closeCode, 1000, 'the client sent a close frame with 1000 before stop() resolved');
  await eventually(() => assert.equal(client.closed, true, 'client.closed is true'));
  // No reconnect after a deliberate stop.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(ws.connections.length, 1);
  assert.equal(slack.calls.filter((c) => c.method === 'apps.connections.open').length, 1);

  // With this test's own servers closed, the app has left no socket, server or timer behind.
  await closeScaffolding();
  // Closed handles disappear once their close callbacks have run; anything the app left running would stay.
  await eventually(() => {
    const left = process.getActiveResourcesInfo().filter((r) => /TCP|Timeout|Interval|Immediate/.test(r));
    assert.deepEqual(left, [], `handles still open after stop: ${left.join(', ')}`);
  }, 3000);
});
