import { ConfigError } from '../config';

/**
 * The running server's admin API, as the `event` commands call it: `base` is
 * its address (http://127.0.0.1:$PORT, or --url), `token` the admin token.
 */
export class AdminApi {
  constructor(
    readonly base: string,
    private readonly token: string,
  ) {}

  /** One request; a server that does not answer, or refuses the token, is the caller's to fix (ConfigError). */
  async call(path: string, init: RequestInit = {}): Promise<Response> {
    const url = `${this.base}${path}`;
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers: { authorization: `Bearer ${this.token}`, ...(init.headers as Record<string, string>) } });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ConfigError(
        `no seckill server answers at ${new URL(url).origin} (${cause?.code ?? cause?.message ?? (err as Error).message}): start one, or pass --url`,
      );
    }
    if (res.status === 401) {
      await res.arrayBuffer();
      throw new ConfigError(`the server at ${this.base} refused the admin token (SECKILL_ADMIN_TOKEN)`);
    }
    return res;
  }

  /** GET /admin/events/{id}: the event's stats, or undefined when there is no such event. */
  async event(id: string): Promise<Record<string, unknown> | undefined> {
    const res = await this.call(`/admin/events/${encodeURIComponent(id)}`);
    if (res.status === 404) {
      await res.arrayBuffer();
      return undefined;
    }
    if (!res.ok) throw new ConfigError(`GET /admin/events/${id}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  }
}
