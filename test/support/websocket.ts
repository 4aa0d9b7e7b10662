import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

// A small RFC 6455 server standing in for Slack's Socket Mode endpoint. The `ws` package is not installed
// (@slack/socket-mode 3 connects with undici's WebSocket), so the few frames a test needs are handled here.

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** One client connection: text messages in, text messages out, pings answered, close handshake completed. */
export class WsConnection extends EventEmitter<{ message: [string]; close: [code: number | undefined, reason: string] }> {
  /** Every text message received, in order. */
  readonly received: string[] = [];
  /** The close code the client sent, once it has. */
  closeCode?: number;
  pings = 0;
  private buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private closeSent = false;

  constructor(private readonly socket: Socket, readonly request: IncomingMessage) {
    super();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.emit('close', this.closeCode, ''));
    socket.on('error', () => undefined);
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  /** Sends a text message (a JSON value is stringified). */
  send(message: unknown): void {
    this.frame(OP.text, Buffer.from(typeof message === 'string' ? message : JSON.stringify(message)));
  }

  /** Starts the close handshake from the server side. */
  close(code = 1000): void {
    this.sendClose(code);
  }

  /** Drops the TCP connection without a handshake (a test's last resort). */
  destroy(): void {
    this.socket.destroy();
  }

  /** The next message that satisfies match (one already received counts). */
  next(match: (message: string) => boolean, ms = 5000): Promise<string> {
    const seen = this.received.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('message', on);
        reject(new Error(`no matching WebSocket message within ${ms} ms; received:\n${this.received.join('\n')}`));
      }, ms);
      const on = (m: string) => {
        if (!match(m)) return;
        clearTimeout(timer);
        this.off('message', on);
        resolve(m);
      };
      this.on('message', on);
    });
  }

  private frame(opcode: number, payload: Buffer): void {
    if (this.socket.destroyed) return;
    const n = payload.length;
    // Server frames are never masked (RFC 6455 §5.1).
    const head = n < 126 ? Buffer.from([0x80 | opcode, n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
    if (n >= 126 && n < 65536) {
      head[0] = 0x80 | opcode;
      head[1] = 126;
      head.writeUInt16BE(n, 2);
    } else if (n >= 65536) {
      head[0] = 0x80 | opcode;
      head[1] = 127;
      head.writeBigUInt64BE(BigInt(n), 2);
    }
    this.socket.write(Buffer.concat([head, payload]));
  }

  private sendClose(code: number): void {
    if (this.closeSent) return;
    this.closeSent = true;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code);
    this.frame(OP.close, payload);
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 2) return;
      const b0 = this.buffer[0]!;
      const b1 = this.buffer[1]!;
      let length = b1 & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const mask = masked ? this.buffer.subarray(offset, offset + 4) : undefined;
      if (masked) offset += 4;
      if (this.buffer.length < offset + length) return;
      const payload = Buffer.from(this.buffer.subarray(offset, offset + length));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
      this.buffer = this.buffer.subarray(offset + length);
      this.onFrame(b0 & 0x0f, (b0 & 0x80) !== 0, payload);
    }
  }

  private onFrame(opcode: number, fin: boolean, payload: Buffer): void {
    switch (opcode) {
      case OP.text:
      case OP.binary:
      case OP.continuation: {
        this.fragments.push(payload);
        if (!fin) return;
        const text = Buffer.concat(this.fragments).toString('utf8');
        this.fragments = [];
        this.received.push(text);
        this.emit('message', text);
        return;
      }
      case OP.ping:
        this.pings++;
        this.frame(OP.pong, payload);
        return;
      case OP.pong:
        return;
      case OP.close: {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : undefined;
        // Answer the client's close, then the server ends the TCP connection (RFC 6455 §7.1.1).
        this.sendClose(this.closeCode ?? 1000);
        this.socket.end();
        return;
      }
    }
  }
}

/** A WebSocket server on 127.0.0.1 and a free port; emits `connection` for each client. */
export class WsServer extends EventEmitter<{ connection: [WsConnection] }> {
  readonly connections: WsConnection[] = [];
  private server: Server;
  url = '';

  constructor() {
    super();
    this.server = createServer((_req, res) => {
      res.writeHead(426, { connection: 'close' });
      res.end();
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
      const key = req.headers['sec-websocket-key'];
      if (typeof key !== 'string' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
        socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
        return;
      }
      const accept = createHash('sha1').update(key + GUID).digest('base64');
      socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`, '', ''].join('\r\n'));
      const connection = new WsConnection(socket, req);
      this.connections.push(connection);
      this.emit('connection', connection);
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this.url;
  }

  /** The first (or next) client to connect. */
  connection(ms = 10000): Promise<WsConnection> {
    if (this.connections[0]) return Promise.resolve(this.connections[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no WebSocket client within ${ms} ms`)), ms);
      this.once('connection', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
  }

  async stop(): Promise<void> {
    // Upgraded sockets are no longer the HTTP server's to close.
    for (const c of this.connections) c.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
