/**
 * The baseline: a bare Bolt app that does no work. Imported by the bench (several in its own process), or run as
 * a process of its own, so it is compared with Preflight's own process on equal terms:
 *
 *   SLACK_SIGNING_SECRET=… SLACK_API_URL=… PORT=0 node --import tsx bench/bare-bolt.ts
 *
 * prints `listening <port>` on stdout once it serves, and stops on SIGTERM.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import bolt from '@slack/bolt';

const { App, HTTPReceiver, LogLevel } = bolt;

/**
 * A bare Bolt app whose /runbook only acks: the floor Preflight's latency is compared with. With `replies`
 * it acks with the body given for the command's text instead (a control: same bytes as Preflight, no work).
 * Every block action (e.g. a checklist click) is acked with nothing else done: the floor for ticks.
 */
export async function startBareBolt(
  signingSecret: string,
  apiUrl: string,
  replies?: Map<string, Record<string, unknown>>,
  port = 0,
): Promise<{ endpoint: string; port: number; stop(): Promise<void> }> {
  const receiver = new HTTPReceiver({ signingSecret, endpoints: '/slack/events', logLevel: LogLevel.ERROR });
  const app = new App({ token: 'xoxb-bench', receiver, logLevel: LogLevel.ERROR, clientOptions: { slackApiUrl: apiUrl } });
  app.command('/runbook', async ({ ack, command }) => {
    const reply = replies?.get(command.text);
    await (reply ? ack(reply) : ack());
  });
  app.action(/.*/, async ({ ack }) => {
    await ack();
  });
  const server = (await app.start({ port, host: '127.0.0.1' })) as Server;
  const bound = (server.address() as AddressInfo).port;
  return { endpoint: `http://127.0.0.1:${bound}/slack/events`, port: bound, stop: () => app.stop().then(() => undefined) };
}

// Run as a process of its own.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const secret = process.env.SLACK_SIGNING_SECRET;
  if (!secret) {
    console.error('SLACK_SIGNING_SECRET is required');
    process.exit(1);
  }
  const bare = await startBareBolt(secret, process.env.SLACK_API_URL ?? 'http://127.0.0.1:9/api/', undefined, Number(process.env.PORT ?? 0));
  console.log(`listening ${bare.port}`);
  process.once('SIGTERM', () => void bare.stop().finally(() => process.exit(0)));
}
