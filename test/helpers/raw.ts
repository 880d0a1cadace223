import net from 'node:net';

/** Opens a TCP connection to 127.0.0.1:port. */
export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * Sends raw bytes and collects one whole HTTP response (by Content-Length),
 * exactly as it came off the wire.
 */
export async function exchange(port: number, request: string | Buffer): Promise<Buffer> {
  return exchangeOn(await connect(port), request);
}

/** The same on a socket already connected. */
export function exchangeOn(s: net.Socket, request: string | Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const done = (): void => {
      s.destroy();
      resolve(Buffer.concat(chunks));
    };
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /content-length: (\d+)/i.exec(all.subarray(0, end).toString());
      if (m && all.length >= end + 4 + Number(m[1])) done();
    });
    s.on('end', done);
    s.on('error', reject);
    s.write(request);
  });
}

export function buyRequest(event: string, token: string | undefined, extra = ''): string {
  const auth = token === undefined ? '' : `authorization: Bearer ${token}\r\n`;
  return `POST /events/${event}/buy HTTP/1.1\r\nhost: x\r\n${auth}content-length: 0\r\n${extra}\r\n`;
}
