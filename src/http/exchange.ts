import type { HttpResponse, RecognizedString, us_socket_context_t } from 'uWebSockets.js';

/** Bodies longer than this get an abort handler before they are written (see Exchange.end). */
const PENDING_RISK_BYTES = 4096;

function byteLength(body: RecognizedString): number {
  return typeof body === 'string' ? body.length : body.byteLength;
}
import type { RefusalSink, TokenRefusal } from '../auth/refusal';

/** Seconds a client should wait before retrying a 429 or 503 (RFC 9110 Retry-After). */
export const RETRY_AFTER_S = '1';

/** Status line text after "HTTP/1.1 " for each status used (no reason phrase: RFC 9112 allows an empty one). */
const STATUS_LINES = new Map<number, string>();
function statusLine(status: number): string {
  let line = STATUS_LINES.get(status);
  if (line === undefined) STATUS_LINES.set(status, (line = `${status} `));
  return line;
}

/** `WWW-Authenticate` on a 401: the bare scheme (no token, or not ours to explain), or why the token was refused (RFC 6750 §3). */
const CHALLENGES = new Map<TokenRefusal | undefined, string>();
function challenge(why: TokenRefusal | undefined): string {
  let value = CHALLENGES.get(why);
  if (value === undefined) CHALLENGES.set(why, (value = why === undefined ? 'Bearer' : `Bearer error="invalid_token", error_description="${why}"`));
  return value;
}

/**
 * One HTTP request's answer: the only module that touches a uWS response
 * (in the manner of hyper-express's Response). A route gets an Exchange,
 * never the raw response.
 *
 * - **Aborts.** uWS's `onAborted` is registered at most once, by `onAbort`,
 *   which keeps a list of listeners: two parts of the server that both want
 *   to know (a parked buy, a body being read) cannot overwrite each other.
 *   `aborted` says whether the client left; nothing may be written after.
 * - **Later writes.** An answer written after an asynchronous step goes
 *   through `later`, which corks, and does nothing when the client left.
 *   uWS requires an abort handler on a response that outlives its handler:
 *   call `onAbort` before the handler returns. An answer written at once
 *   can outlive it too (a large body the socket did not take, the client
 *   gone): `end` registers one before any body over 4 KB.
 * - **Headers.** `head` is the one header writer: the status line, the
 *   headers a status requires (`WWW-Authenticate` on 401, with the reason a
 *   token was refused when `tokenRefused` was told; `Retry-After` on 429 and
 *   503), CORS (the origin was read from the request by the router), and
 *   the content type. Header names are written in one case, each word
 *   capitalized (`Retry-After`), as uWS writes its own (`Date`,
 *   `Content-Length`).
 * - **HEAD.** An Exchange for a HEAD request (`headOnly`) writes the same
 *   status and headers as for GET, `Content-Length` included, and no body.
 */
export class Exchange implements RefusalSink {
  private gone = false;
  private armed = false;
  private listeners: (() => void)[] | undefined;
  private refusal: TokenRefusal | undefined;

  constructor(
    private readonly res: HttpResponse,
    /** The listed Origin this request came from (CORS on), else undefined. */
    readonly origin: string | undefined,
    /** A HEAD request: every answer is written without its body. */
    readonly headOnly = false,
    /** The server is shutting down (Routes.drain): the answer closes its connection, whatever the route. */
    private readonly closing = false,
  ) {}

  /** The token of this request was refused, and why: a 401 then says so in `WWW-Authenticate`. */
  tokenRefused(why: TokenRefusal): void {
    this.refusal = why;
  }

  /** The client left: the response is gone, nothing may be written. */
  get aborted(): boolean {
    return this.gone;
  }

  /**
   * Registers uWS's abort handler (once), and `listener` to run when the
   * client leaves. Must be called before the route's handler returns when
   * the answer comes later.
   */
  onAbort(listener?: () => void): void {
    if (listener !== undefined) (this.listeners ??= []).push(listener);
    if (this.armed) return;
    this.armed = true;
    this.res.onAborted(() => {
      this.gone = true;
      const listeners = this.listeners;
      this.listeners = undefined;
      if (listeners !== undefined) for (const l of listeners) l();
    });
  }

  /** Runs `write` corked, unless the client left (every write after an asynchronous step). */
  later(write: () => void): void {
    if (this.gone) return;
    this.res.cork(write);
  }

  /**
   * The status line (none for 200: uWS writes "200 OK"), the headers that
   * status needs, CORS, and `contentType` when given. Then `header`s, then
   * `end`.
   */
  head(status: number, contentType?: string): this {
    const res = this.res;
    if (status !== 200) res.writeStatus(statusLine(status));
    if (status === 401) res.writeHeader('WWW-Authenticate', challenge(this.refusal));
    const retry = status === 429 || status === 503;
    if (retry) res.writeHeader('Retry-After', RETRY_AFTER_S);
    if (this.origin !== undefined) {
      res.writeHeader('Access-Control-Allow-Origin', this.origin);
      // A page may read why it must retry later, or why its token was refused.
      if (retry) res.writeHeader('Access-Control-Expose-Headers', 'Retry-After');
      else if (status === 401) res.writeHeader('Access-Control-Expose-Headers', 'WWW-Authenticate');
    }
    if (contentType !== undefined) res.writeHeader('Content-Type', contentType);
    return this;
  }

  /** One more header, after `head`. */
  header(name: string, value: RecognizedString): this {
    this.res.writeHeader(name, value);
    return this;
  }

  /**
   * The body, and the end of the answer; `close` closes the connection after
   * it (so does every answer once the server drains: Routes.drain). HEAD:
   * the body's length, and no body (uWS's endWithoutBody cannot close in
   * this build: a HEAD answered while draining keeps its connection).
   */
  end(body?: RecognizedString, close = false): void {
    if (!this.headOnly) {
      // A body the socket may not take at once (the dashboard's script, /metrics) can leave the answer pending
      // when the client stops reading or hangs up, and uWS aborts the process when a handler returns with an
      // answer pending and no abort handler: register one. A buy's few bytes never need it.
      if (body !== undefined && byteLength(body) > PENDING_RISK_BYTES) this.onAbort();
      return void this.res.end(body, close || this.closing);
    }
    // endWithoutBody(n) with n > 0 leaves the response open in this uWS build, and any argument at all is
    // read as a length (undefined too): the length goes in as a header, and the call takes none.
    this.res.writeHeader('Content-Length', String(body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength));
    this.endWithoutBody();
  }

  /**
   * An answer without a body (HEAD, 204). uWS may leave it pending when the
   * client hung up mid-write, and a pending response needs an abort handler:
   * one is registered.
   */
  endWithoutBody(): void {
    this.onAbort();
    this.res.endWithoutBody();
  }

  /**
   * Reads a request body of at most `limit` bytes. uWS hands out chunks that
   * are neutered after the callback, so each is copied. Calls `done` once
   * with the body, or with undefined as soon as it grows past the limit; not
   * at all when the client leaves (the abort handler is registered here).
   */
  readBody(limit: number, done: (body: Buffer | undefined) => void): void {
    this.onAbort();
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    this.res.onData((chunk, isLast) => {
      if (over || this.gone) return;
      size += chunk.byteLength;
      if (size > limit) {
        over = true;
        done(undefined);
        return;
      }
      if (chunk.byteLength > 0) chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) done(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    });
  }

  /** Streaming (Server-Sent Events): one chunk of an answer whose head was written; false when the socket's buffer is full. */
  write(chunk: RecognizedString): boolean {
    return this.res.write(chunk);
  }

  /** Streaming: `fn` when the socket can take more (see write); it returns whether it wrote all it wanted. */
  onWritable(fn: () => boolean): void {
    this.res.onWritable(fn);
  }

  /** Closes the connection at once (a stream that fell behind). */
  close(): void {
    this.res.close();
  }

  /**
   * The peer's address as text (`127.0.0.1`; uWS writes IPv6 in full, and
   * IPv4 as IPv4-mapped IPv6 on a socket listening on `::`). Read it inside
   * the handler, before anything asynchronous.
   */
  remoteAddress(): string {
    return Buffer.from(this.res.getRemoteAddressAsText()).toString('latin1');
  }

  /** Turns the request into a WebSocket (inside the app's `upgrade` handler). */
  upgrade<T>(userData: T, key: string, protocol: string, extensions: string, context: us_socket_context_t): void {
    this.res.upgrade(userData, key, protocol, extensions, context);
  }
}
