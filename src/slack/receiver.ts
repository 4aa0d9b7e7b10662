import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseForm } from 'node:querystring';
import bolt from '@slack/bolt';
import type { App, HTTPReceiverOptions, Logger, ReceiverEvent } from '@slack/bolt';

const { HTTPModuleFunctions: http, HTTPReceiver, HTTPResponseAck, verifySlackRequest } = bolt;

const FORM = 'application/x-www-form-urlencoded';

/** A request body that is not what Slack sends (malformed form or JSON). */
export class MalformedBodyError extends Error {}

const PAYLOAD = Buffer.from('payload=');
const AMPERSAND = 0x26;
const PERCENT = 0x25;
const PLUS = 0x2b;
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEX['0123456789abcdef'.charCodeAt(i)] = HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * One form value, `+` and `%XX` decoded, from `start` to the end of `raw`: what `querystring.parse` gives for it
 * (a `%` without two hex digits stays as it is; bytes that are not UTF-8 become U+FFFD), in one pass over bytes.
 * Undefined when the value holds a raw byte that is not ASCII (Slack escapes them): querystring's way then.
 */
export function decodeFormValue(raw: Buffer, start: number): string | undefined {
  // Decoded bytes are never more than encoded ones; one scratch buffer, reused (this runs to the end unbroken).
  if (scratch.length < raw.length - start) scratch = Buffer.allocUnsafeSlow(Math.max(raw.length - start, 2 * scratch.length));
  const out = scratch;
  let o = 0;
  for (let i = start; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === PERCENT && i + 2 < raw.length) {
      const hi = HEX[raw[i + 1]!]!;
      const lo = HEX[raw[i + 2]!]!;
      if (hi >= 0 && lo >= 0) {
        out[o++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    if (c > 0x7f) return undefined;
    out[o++] = c === PLUS ? 0x20 : c;
  }
  return out.toString('utf8', 0, o);
}

/**
 * Slack's request body as Bolt's HTTPReceiver reads it, parsed once. An interaction is one form field,
 * `payload=<JSON>` (a checklist click carries the whole message: 50 KiB); `querystring.parse`, which Bolt runs
 * twice per request, walks it character by character and then decodes it again, where this decodes it once.
 */
export function parseSlackBody(raw: Buffer, text: string, contentType: string | undefined): Record<string, unknown> {
  try {
    if (contentType !== FORM) return JSON.parse(text) as Record<string, unknown>;
    // A raw `&` separates fields (inside a value it is %26): a body without one is the payload alone.
    const payload = raw.subarray(0, PAYLOAD.length).equals(PAYLOAD) && !raw.includes(AMPERSAND) ? decodeFormValue(raw, PAYLOAD.length) : undefined;
    if (payload !== undefined) return JSON.parse(payload) as Record<string, unknown>;
    const form = parseForm(text);
    return typeof form.payload === 'string' ? (JSON.parse(form.payload) as Record<string, unknown>) : form;
  } catch (err) {
    throw new MalformedBodyError((err as Error).message);
  }
}

/**
 * A click carries the whole message or view it came from (a checklist message: 50 KiB of blocks), and listeners
 * read only the blocks that were acted on (checklist/listeners.ts shownSelection). Keeping just those lets the
 * rest die young, instead of fifty clicks in flight, each waiting for its commit, pushing their copies of the
 * message into the old generation.
 */
export function keepActedBlocks(body: Record<string, unknown>): void {
  if (body.type !== 'block_actions' || !Array.isArray(body.actions)) return;
  const acted = new Set(body.actions.map((a) => (a as { block_id?: unknown } | null)?.block_id));
  for (const holder of [body.message, body.view] as Array<{ blocks?: unknown } | undefined>) {
    if (holder && Array.isArray(holder.blocks)) holder.blocks = holder.blocks.filter((b) => acted.has((b as { block_id?: unknown } | null)?.block_id));
  }
}

type ReceiverOptions = Pick<HTTPReceiverOptions, 'signingSecret' | 'customRoutes' | 'logger' | 'unhandledRequestTimeoutMillis'> & { endpoint: string; logger: Logger };

/**
 * Bolt's HTTPReceiver (its server, custom routes, start and stop), with Slack's POSTs to `endpoint` handled as
 * its handleIncomingEvent does them, step for step, except that the body is read and parsed once: verified
 * with Bolt's verifySlackRequest, acknowledged through Bolt's HTTPResponseAck, answered with Bolt's responses.
 */
export class SlackHttpReceiver extends HTTPReceiver {
  private boltApp?: App;

  constructor(private readonly options: ReceiverOptions) {
    super({ ...options, endpoints: options.endpoint });
    const bolts = this.requestListener;
    this.requestListener = (req, res) => {
      if (req.method === 'POST' && (req.url ?? '').split('?')[0] === options.endpoint) void this.handleEvent(req, res);
      else bolts(req, res);
    };
  }

  override init(app: App): void {
    super.init(app);
    this.boltApp = app;
  }

  private async handleEvent(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { logger } = this.options;
    let body: Record<string, unknown>;
    let buffered: Awaited<ReturnType<typeof http.bufferIncomingMessage>>;
    try {
      buffered = await http.bufferIncomingMessage(req, http.defaultBodyLimit);
    } catch (err) {
      const e = err as { type?: string; statusCode?: number; limit?: number; message?: string };
      if (http.isRawBodyError(err) && (e.type === 'entity.too.large' || e.statusCode === 413)) {
        logger.warn(`Request body exceeded the maximum allowed size (limit: ${e.limit} bytes)`);
        return http.buildNoBodyResponse(res, 413);
      }
      logger.warn(`Failed to parse and verify the request data: ${e.message}`);
      return http.buildNoBodyResponse(res, 401);
    }
    const text = buffered.rawBody.toString();
    const contentType = req.headers['content-type'];
    try {
      body = parseSlackBody(buffered.rawBody, text, contentType);
    } catch (err) {
      // Bolt verifies before it parses: an unsigned body is refused as unsigned, not as malformed.
      if (!this.verified(req, text)) return http.buildNoBodyResponse(res, 401);
      logger.warn(`Malformed request body: ${(err as Error).message}`);
      return http.buildNoBodyResponse(res, 400);
    }
    // Slack's SSL check carries no signature; nothing else in it is looked at.
    if (contentType === FORM && body.ssl_check === '1') return http.buildSSLCheckResponse(res);
    if (!this.verified(req, text)) return http.buildNoBodyResponse(res, 401);
    if (body.type === 'url_verification') return http.buildUrlVerificationResponse(res, body);
    keepActedBlocks(body);

    const ack = new HTTPResponseAck({
      logger,
      processBeforeResponse: false,
      unhandledRequestHandler: http.defaultUnhandledRequestHandler,
      unhandledRequestTimeoutMillis: this.options.unhandledRequestTimeoutMillis,
      httpRequest: buffered,
      httpRequestBody: body,
      httpResponse: res,
    });
    const event: ReceiverEvent = {
      body,
      ack: ack.bind(),
      retryNum: http.extractRetryNumFromHTTPRequest(req),
      retryReason: http.extractRetryReasonFromHTTPRequest(req),
      customProperties: {},
    };
    try {
      await this.boltApp?.processEvent(event);
    } catch (error) {
      const acknowledged = await http.defaultProcessEventErrorHandler({ error: error as Error, logger, request: req, response: res, storedResponse: ack.storedResponse });
      if (acknowledged) ack.ack();
    }
  }

  /** Slack's signature over the raw body, checked by Bolt's own function (which logs why it refused). */
  private verified(req: IncomingMessage, text: string): boolean {
    try {
      verifySlackRequest({
        signingSecret: this.options.signingSecret,
        body: text,
        headers: { 'x-slack-signature': http.getHeader(req, 'x-slack-signature'), 'x-slack-request-timestamp': Number(http.getHeader(req, 'x-slack-request-timestamp')) },
        logger: this.options.logger,
      });
      return true;
    } catch (err) {
      this.options.logger.warn(`Failed to parse and verify the request data: ${(err as Error).message}`);
      return false;
    }
  }
}
