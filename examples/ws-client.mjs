// A seckill WebSocket client: buys for one or more users over one
// connection and listens for "sold out" pushes.
//
//   npm install ws msgpackr
//   SECKILL_URL=ws://127.0.0.1:8080/ws node ws-client.mjs spring <JWT> [<JWT> ...]
//
// Frames are MessagePack arrays: [id, "event"] or [id, "event", "<JWT>"]
// out; [id, code] or [id, code, order] back; [0, "event", code] is a push.
import { pack, unpack } from 'msgpackr';
import WebSocket from 'ws';

const NAMES = ['won', 'sold_out', 'already_bought', 'not_started', 'ended', 'busy', 'timeout',
  'unknown_event', 'unauthorized', 'bad_request', 'unavailable', 'no_order', 'expired'];

const [event, ...tokens] = process.argv.slice(2);
if (event === undefined || tokens.length === 0) {
  console.error('usage: node ws-client.mjs <event> <JWT> [<JWT> ...]');
  process.exit(2);
}
const url = process.env.SECKILL_URL ?? 'ws://127.0.0.1:8080/ws';

// Anonymous connection: every buy carries its own token (one user or a gateway's many).
const ws = new WebSocket(url);
const waiting = new Map(); // id → resolve
let nextId = 1;

ws.on('message', (data, isBinary) => {
  if (!isBinary) return;
  const frame = unpack(data);
  if (frame[0] === 0 && typeof frame[1] === 'string') {
    console.log(`push: ${frame[1]} ${NAMES[frame[2]]}`);
    return;
  }
  const [id, code, order] = frame;
  waiting.get(id)?.({ code, order });
  waiting.delete(id);
});

function buy(token) {
  const id = nextId++;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    ws.send(pack([id, event, token]));
  });
}

ws.on('open', async () => {
  const answers = await Promise.all(tokens.map(buy));
  answers.forEach(({ code, order }, i) => {
    // 5 (busy), 6 (timeout), 10 (unavailable): try again after a second.
    console.log(`user #${i + 1}: ${NAMES[code]}${order === undefined ? '' : ` order ${order}`}`);
  });
  ws.close();
});
ws.on('unexpected-response', (_req, res) => {
  console.error(`upgrade refused: ${res.statusCode}`);
  process.exit(1);
});
ws.on('error', (err) => {
  console.error(err.message);
  process.exit(1);
});
