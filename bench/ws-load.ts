import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { pack, unpack } from 'msgpackr';
import WebSocket from 'ws';

/** Answers that are not a decision: busy, timeout, unavailable (the client asks again). */
export const NOT_DECIDED: ReadonlySet<number> = new Set([5, 6, 10]);

export interface WsLoadOptions {
  /** ws://host:port/ws */
  readonly url: string;
  readonly event: string;
  /**
   * user: one user per connection, its token at the upgrade, buying
   * `[id, event]` again as soon as each answer comes (one in flight, as a
   * user's client or an HTTP keep-alive connection);
   * gateway: anonymous connections, each carrying `usersPerConnection`
   * users with one buy in flight each, `[id, event, token]`.
   */
  readonly mode: 'user' | 'gateway';
  readonly connections: number;
  readonly usersPerConnection: number;
  /** user: token i for connection i; gateway: taken in order, one per buy (new users first, then repeats). */
  readonly tokens: readonly string[];
  readonly durationS: number;
}

export interface WsLoadResult {
  /** Answers received in the window, by outcome code (pushes not counted). */
  readonly outcomes: Record<number, number>;
  readonly answers: number;
  readonly decisions: number;
  readonly pushes: number;
  /** TCP payload bytes in the window: received (server → client) and sent (client → server). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly seconds: number;
  readonly errors: number;
}

interface Conn {
  readonly ws: WebSocket;
  readonly socket: Socket;
}

function connect(url: string, token: string | undefined): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    let socket: Socket | undefined;
    ws.once('upgrade', (res: IncomingMessage) => (socket = res.socket));
    ws.once('open', () => (socket === undefined ? reject(new Error('no socket')) : resolve({ ws, socket })));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode ?? '?'}`)));
  });
}

/**
 * A closed-loop WebSocket buyer: every connection keeps its users' buys in
 * flight for `durationS`, then stops sending. Counts the answers and the
 * bytes on the sockets inside the window. Sends made while handling one
 * incoming chunk are corked into one write, as a gateway would.
 */
export async function loadWs(o: WsLoadOptions): Promise<WsLoadResult> {
  const conns: Conn[] = [];
  for (let i = 0; i < o.connections; i++) conns.push(await connect(o.url, o.mode === 'user' ? o.tokens[i % o.tokens.length] : undefined));
  const outcomes: Record<number, number> = {};
  let answers = 0;
  let pushes = 0;
  let errors = 0;
  let running = true;
  let nextToken = 0;
  /** TCP payload so far on every socket: read (answers) and written (buys). */
  const bytes = (): { i: number; o: number } => conns.reduce((s, c) => ({ i: s.i + c.socket.bytesRead, o: s.o + c.socket.bytesWritten }), { i: 0, o: 0 });

  const ended = conns.map(
    (c) =>
      new Promise<void>((resolve) => {
        let nextId = 1;
        let corked = false;
        const send = (): void => {
          if (!running) return;
          if (!corked) {
            corked = true;
            c.socket.cork();
            process.nextTick(() => {
              corked = false;
              c.socket.uncork();
            });
          }
          const id = nextId;
          nextId = nextId >= 0xfffffff ? 1 : nextId + 1;
          const frame = o.mode === 'user' ? [id, o.event] : [id, o.event, o.tokens[nextToken++ % o.tokens.length]];
          c.ws.send(pack(frame), { binary: true });
        };
        c.ws.on('message', (data: Buffer, isBinary: boolean) => {
          if (!isBinary) return;
          const f = unpack(data) as unknown[];
          if (f[0] === 0 && typeof f[1] === 'string') {
            pushes++;
            return;
          }
          if (!running) return;
          const code = Number(f[1]);
          outcomes[code] = (outcomes[code] ?? 0) + 1;
          answers++;
          send();
        });
        c.ws.on('error', () => errors++);
        c.ws.on('close', () => resolve());
      }),
  );

  const start = bytes();
  const t0 = process.hrtime.bigint();
  for (const c of conns) {
    c.socket.cork();
    for (let u = 0; u < (o.mode === 'user' ? 1 : o.usersPerConnection); u++) {
      const frame = o.mode === 'user' ? [u + 1, o.event] : [u + 1, o.event, o.tokens[nextToken++ % o.tokens.length]];
      c.ws.send(pack(frame), { binary: true });
    }
    c.socket.uncork();
  }
  await new Promise((r) => setTimeout(r, o.durationS * 1000));
  running = false;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const end = bytes();
  for (const c of conns) c.ws.terminate();
  await Promise.all(ended);
  let decisions = 0;
  for (const [code, n] of Object.entries(outcomes)) if (!NOT_DECIDED.has(Number(code))) decisions += n;
  return { outcomes, answers, decisions, pushes, bytesIn: end.i - start.i, bytesOut: end.o - start.o, seconds, errors };
}
