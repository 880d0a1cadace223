/**
 * The conventional design most teams build: Fastify + ioredis, the JWT
 * verified the same way as seckill (fast-jwt, cached), and one EVALSHA of the
 * same buy script per request: no prefilter, no queue, no batching.
 * Env: HOST, PORT, REDIS_URL (socket path), SECKILL_JWT_SECRET. Prints "listening <port>".
 */
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { createUserVerifier } from '../../src/auth/jwt';
import { eventKeys } from '../../src/redis/keys';
import { buy, defineScripts } from '../../src/redis/scripts';

async function main(): Promise<void> {
  const redis = new Redis({ path: process.env.REDIS_URL ?? '' });
  defineScripts(redis);
  const verify = createUserVerifier(process.env.SECKILL_JWT_SECRET ?? '', '', 384);
  const app = Fastify({ logger: false });
  app.post<{ Params: { event: string } }>('/events/:event/buy', async (req, reply) => {
    const user = verify(req.headers.authorization ?? '');
    if (user === undefined) return reply.code(401).send({ c: 8 });
    const r = await buy(redis, eventKeys(req.params.event), [user]);
    const code = r.codes[0] ?? 10;
    const order = r.orders[0] ?? 0;
    return reply.code(code === 7 ? 404 : 200).send(order > 0 ? { c: code, o: order } : { c: code });
  });
  await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) });
  const address = app.server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
}

void main();
