import { unpack } from 'msgpackr';
import WebSocket from 'ws';
import { requestFrame } from '../../src/ws/frames';

/** A decoded server frame: an answer `[id, code]` / `[id, code, order]`, or a push `[0, event, code]`. */
export type Frame = [number, number] | [number, number, number] | [0, string, number];

/**
 * A real WebSocket client (the `ws` package) speaking seckill's protocol:
 * answers are matched to their request by id; pushes are kept in order;
 * the wire bytes of every frame received are counted.
 */
export class WsClient {
  readonly pushes: [string, number][] = [];
  /** Every frame received, raw. */
  readonly raw: Buffer[] = [];
  private readonly waiting = new Map<number, (f: Frame) => void>();
  private readonly pushWaiters: (() => void)[] = [];
  private nextId = 1;
  readonly closed: Promise<{ code: number }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      this.raw.push(data);
      if (!isBinary) return;
      const f = unpack(data) as Frame;
      if (f[0] === 0 && typeof f[1] === 'string') {
        this.pushes.push([f[1], f[2] as number]);
        for (const w of this.pushWaiters.splice(0)) w();
        return;
      }
      const w = this.waiting.get(f[0]);
      this.waiting.delete(f[0]);
      w?.(f);
    });
    this.closed = new Promise((r) => socket.on('close', (code) => r({ code })));
    socket.on('error', () => undefined);
  }

  /** `headers` are added to the upgrade request; `localAddress` is the address it comes from (any of 127.0.0.0/8). */
  static open(port: number, opts: { bearer?: string; query?: string; headers?: Record<string, string>; localAddress?: string } = {}): Promise<WsClient> {
    const headers = { ...opts.headers, ...(opts.bearer === undefined ? {} : { authorization: `Bearer ${opts.bearer}` }) };
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws${opts.query ?? ''}`, { headers, localAddress: opts.localAddress });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new WsClient(socket)));
      socket.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
      socket.once('error', reject);
    });
  }

  /** Sends a buy and resolves with its answer frame. */
  buy(event: string, token?: string, id = this.nextId++): Promise<Frame> {
    const answer = this.answerTo(id);
    this.socket.send(requestFrame(id, event, token));
    return answer;
  }

  /** A buy carrying a solved ALTCHA challenge (an event with proof of work): `[id, event, token | nil, solution]`. */
  buyProven(event: string, token: string | undefined, solution: string, id = this.nextId++): Promise<Frame> {
    const answer = this.answerTo(id);
    this.socket.send(requestFrame(id, event, token, solution));
    return answer;
  }

  /** Resolves with the answer to `id` (sent by other means, e.g. a hostile frame). */
  answerTo(id: number): Promise<Frame> {
    return new Promise((r) => this.waiting.set(id, r));
  }

  subscribe(event: string): void {
    this.socket.send(requestFrame(0, event));
  }

  /** Resolves once at least `n` pushes have come. */
  async pushCount(n: number): Promise<void> {
    while (this.pushes.length < n) await new Promise<void>((r) => this.pushWaiters.push(r));
  }

  close(): Promise<{ code: number }> {
    this.socket.close();
    return this.closed;
  }
}
