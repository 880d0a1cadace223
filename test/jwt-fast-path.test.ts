import { createHmac } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import t from 'tap';
import { createHs256FastPath } from '../src/auth/hs256';
import { constantTimeEqual, createHmacSha256 } from '../src/auth/hmac-sha256';
import { createUserVerifier, MAX_USER_ID, type TokenRefusal } from '../src/auth/jwt';
import { refusalOfFastJwt } from '../src/auth/refusal';

const SECRET = 'fast-path-secret';
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64url');
const HEADER = b64('{"alg":"HS256","typ":"JWT"}');
const hmac = (input: string, secret = SECRET): string => createHmac('sha256', secret).update(input).digest('base64url');
/** A token with this exact header and payload text, signed with `secret`. */
const raw = (header: string, payloadJson: string, secret = SECRET): string => `${header}.${b64(payloadJson)}.${hmac(`${header}.${b64(payloadJson)}`, secret)}`;
const now = Math.floor(Date.now() / 1000);

/** What fast-jwt alone says, with the same options and `sub` rule as jwt.ts: the reference. */
const fastJwt = createVerifier({ key: SECRET, algorithms: ['HS256'], requiredClaims: ['sub'] });
function reference(token: string): string | undefined {
  try {
    const sub = (fastJwt(token) as { sub?: unknown }).sub;
    return typeof sub === 'string' && sub.length > 0 && sub.length <= MAX_USER_ID ? sub : undefined;
  } catch {
    return undefined;
  }
}
/** Why fast-jwt alone refuses a token (its error code, or our `sub` rule), or undefined when it accepts it. */
function referenceRefusal(token: string): TokenRefusal | undefined {
  try {
    const sub = (fastJwt(token) as { sub?: unknown }).sub;
    return typeof sub === 'string' && sub.length > 0 && sub.length <= MAX_USER_ID ? undefined : 'bad sub';
  } catch (err) {
    return refusalOfFastJwt((err as { code?: unknown }).code);
  }
}
const fast = createHs256FastPath(SECRET);
// The whole verifier without a cache: fast path first, fast-jwt for what it hands over.
const ours = createUserVerifier(SECRET, '', 0);

const sign = createSigner({ key: SECRET });
const valid = sign({ sub: 'ada' }) as string;
const [vh, vp, vs] = valid.split('.') as [string, string, string];

/** Every kind of token, named: each must get the same answer from both verifiers. */
const cases: Record<string, string> = {
  'valid (fast-jwt signer)': valid,
  'valid, header with typ first': raw(b64('{"typ":"JWT","alg":"HS256"}'), '{"sub":"ada"}'),
  'valid, header without typ': raw(b64('{"alg":"HS256"}'), '{"sub":"ada"}'),
  'valid, exp in the future': sign({ sub: 'ada', exp: now + 3600 }) as string,
  'valid, nbf in the past': raw(HEADER, `{"sub":"ada","nbf":${now - 60}}`),
  'valid, extra claims': raw(HEADER, `{"sub":"ada","iss":"x","aud":["a"],"jti":"1","iat":${now}}`),
  'valid, unicode sub': raw(HEADER, '{"sub":"zoë-用户"}'),
  'valid, 128-character sub': raw(HEADER, `{"sub":"${'x'.repeat(MAX_USER_ID)}"}`),
  'valid, header with a space (handed to fast-jwt)': raw(b64('{"alg": "HS256","typ":"JWT"}'), '{"sub":"ada"}'),
  'bad signature (one character changed)': `${vh}.${vp}.${vs.slice(0, 10)}${vs[10] === 'A' ? 'B' : 'A'}${vs.slice(11)}`,
  'signed with another secret': raw(HEADER, '{"sub":"ada"}', 'other-secret'),
  'signature of another payload': `${vh}.${b64('{"sub":"eve"}')}.${vs}`,
  'signature missing': `${vh}.${vp}.`,
  'signature truncated': `${vh}.${vp}.${vs.slice(0, 42)}`,
  'signature with padding': `${vh}.${vp}.${vs}=`,
  'signature in standard base64': `${vh}.${vp}.${Buffer.from(vs, 'base64url').toString('base64')}`,
  'signature, non-canonical last character': `${vh}.${vp}.${vs.slice(0, 42)}${String.fromCharCode(vs.charCodeAt(42) + 1)}`,
  'signature with a space': `${vh}.${vp}.${vs.slice(0, 20)} ${vs.slice(20)}`,
  'alg none': `${b64('{"alg":"none","typ":"JWT"}')}.${vp}.`,
  'alg none with a signature': `${b64('{"alg":"none","typ":"JWT"}')}.${vp}.${vs}`,
  'alg HS384, signed with HS384': (() => {
    const h = b64('{"alg":"HS384","typ":"JWT"}');
    return `${h}.${vp}.${createHmac('sha384', SECRET).update(`${h}.${vp}`).digest('base64url')}`;
  })(),
  'alg HS512 header, HS256 signature': raw(b64('{"alg":"HS512","typ":"JWT"}'), '{"sub":"ada"}'),
  'alg RS256 header, HMAC signature': raw(b64('{"alg":"RS256","typ":"JWT"}'), '{"sub":"ada"}'),
  'alg lower-case hs256': raw(b64('{"alg":"hs256","typ":"JWT"}'), '{"sub":"ada"}'),
  'header not JSON': raw(b64('{"alg":"HS256"'), '{"sub":"ada"}'),
  'header with crit': raw(b64('{"alg":"HS256","crit":["x"],"x":1}'), '{"sub":"ada"}'),
  'header with padding': `${vh}=.${vp}.${hmac(`${vh}=.${vp}`)}`,
  'payload malformed base64 (a "*")': `${vh}.${vp.slice(0, 5)}*${vp.slice(5)}.${hmac(`${vh}.${vp.slice(0, 5)}*${vp.slice(5)}`)}`,
  'payload with a space': `${vh}.${vp.slice(0, 5)} ${vp.slice(5)}.${hmac(`${vh}.${vp.slice(0, 5)} ${vp.slice(5)}`)}`,
  'payload with padding': `${vh}.${vp}==.${hmac(`${vh}.${vp}==`)}`,
  'payload not JSON': raw(HEADER, '{"sub":"ada"'),
  'payload not an object (array)': raw(HEADER, '["ada"]'),
  'payload not an object (string)': raw(HEADER, '"ada"'),
  'payload null': raw(HEADER, 'null'),
  'payload invalid UTF-8': `${HEADER}.${b64(Buffer.from([0x7b, 0x22, 0x73, 0x75, 0x62, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]))}.${hmac(`${HEADER}.${b64(Buffer.from([0x7b, 0x22, 0x73, 0x75, 0x62, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]))}`)}`,
  'sub missing': raw(HEADER, '{"user":"ada"}'),
  'sub a number': raw(HEADER, '{"sub":42}'),
  'sub null': raw(HEADER, '{"sub":null}'),
  'sub an array': raw(HEADER, '{"sub":["ada"]}'),
  'sub empty': raw(HEADER, '{"sub":""}'),
  'sub too long': raw(HEADER, `{"sub":"${'x'.repeat(MAX_USER_ID + 1)}"}`),
  'sub only in __proto__': raw(HEADER, '{"__proto__":{"sub":"ada"}}'),
  expired: raw(HEADER, `{"sub":"ada","exp":${now - 10}}`),
  'exp a string': raw(HEADER, `{"sub":"ada","exp":"${now + 3600}"}`),
  'exp an array': raw(HEADER, `{"sub":"ada","exp":[${now + 3600}]}`),
  'exp null': raw(HEADER, '{"sub":"ada","exp":null}'),
  'exp huge (1e400 → Infinity)': raw(HEADER, '{"sub":"ada","exp":1e400}'),
  'nbf in the future': raw(HEADER, `{"sub":"ada","nbf":${now + 3600}}`),
  'nbf a string': raw(HEADER, `{"sub":"ada","nbf":"${now - 60}"}`),
  'two dots only': '..',
  'one segment': vh,
  'two segments': `${vh}.${vp}`,
  'four segments': `${vh}.${vp}.${vs}.${vs}`,
  'empty header': `.${vp}.${hmac(`.${vp}`)}`,
  empty: '',
};

t.test('the fast path and fast-jwt give the same answer on every kind of token', async (t) => {
  for (const [name, token] of Object.entries(cases)) {
    t.equal(ours(`Bearer ${token}`), reference(token), name);
  }
  // Guard the test itself: both kinds occur, and the fast path decides most of them alone.
  const accepted = Object.values(cases).filter((c) => reference(c) !== undefined).length;
  t.ok(accepted >= 9 && accepted < Object.keys(cases).length - 30, `${accepted} accepted, the rest refused`);
  t.not(fast(valid), 'not-mine', 'the usual token is decided by the fast path');
  t.equal(fast(cases['bad signature (one character changed)']!), 'bad signature', 'a bad signature is refused there, not handed on');
  t.equal(fast(cases['alg none']!), 'not-mine', 'another header goes to fast-jwt');
  t.equal(fast(cases['signature, non-canonical last character']!), 'not-mine', 'an odd signature encoding goes to fast-jwt');
});

t.test('and the same reason for every token refused: what a 401 says in WWW-Authenticate', async (t) => {
  const said = new Set<TokenRefusal>();
  for (const [name, token] of Object.entries(cases)) {
    // An empty token is no token: a 401 without a reason (RFC 6750 §3.1).
    if (token === '') continue;
    let why: TokenRefusal | undefined;
    const user = ours(`Bearer ${token}`, { tokenRefused: (w) => (why = w) });
    t.equal(why, referenceRefusal(token), `${name}: ${why ?? 'accepted'}`);
    t.equal(why === undefined, user !== undefined, `${name}: a reason exactly when refused`);
    if (why !== undefined) said.add(why);
  }
  t.same([...said].sort(), ['bad signature', 'bad sub', 'expired', 'malformed', 'not yet valid', 'wrong algorithm'], 'every reason occurs');
  let told = false;
  t.equal(ours('', { tokenRefused: () => (told = true) }), undefined);
  t.equal(ours(`Basic ${valid}`, { tokenRefused: () => (told = true) }), undefined);
  t.notOk(told, 'no token, or another scheme: no reason (no error code in the 401)');
});

t.test('random one-character changes of valid tokens: same answers', async (t) => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ';
  let seed = 12345;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const bases = [valid, sign({ sub: 'bo', exp: now + 60 }) as string, raw(HEADER, `{"sub":"cy","nbf":${now - 5}}`)];
  let differ = 0;
  let acceptedMutants = 0;
  let fastAccepted = 0;
  for (let i = 0; i < 3000; i++) {
    const base = bases[i % bases.length]!;
    const at = rnd(base.length);
    const kind = rnd(3);
    const ch = alphabet[rnd(alphabet.length)]!;
    const token = kind === 0 ? base.slice(0, at) + ch + base.slice(at + 1) : kind === 1 ? base.slice(0, at) + ch + base.slice(at) : base.slice(0, at) + base.slice(at + 1);
    const a = ours(`Bearer ${token}`);
    if (a !== reference(token)) {
      differ++;
      t.fail(`differs on ${token}`);
    }
    if (a !== undefined && token !== base) acceptedMutants++;
    if (typeof fast(token) === 'object' && token !== base) fastAccepted++;
  }
  t.equal(differ, 0, '3,000 mutants, no difference');
  // A changed character in a signature's last position may decode to the same bytes; fast-jwt accepts those, so must we.
  t.ok(acceptedMutants < 100, `few mutants accepted (${acceptedMutants}): odd encodings of the same signature`);
  t.equal(fastAccepted, 0, 'the fast path alone accepts no changed token');
});

t.test('the HMAC from one-shot hashes equals createHmac, for short, long and non-ASCII keys and messages', async (t) => {
  for (const secret of ['k', 'x'.repeat(64), 'y'.repeat(65), 'a-much-longer-secret-'.repeat(10), 'clé-ü']) {
    const mac = createHmacSha256(Buffer.from(secret));
    for (const msg of ['', 'abc', valid, 'é'.repeat(500), 'z'.repeat(2730)]) {
      t.equal(mac(msg), createHmac('sha256', secret).update(msg).digest('base64url'), `key ${secret.length}, message ${msg.length}`);
    }
    t.equal(mac('z'.repeat(2731)), undefined, 'a message that might not fit is left to createHmac');
    t.equal(mac('abc'), createHmac('sha256', secret).update('abc').digest('base64url'), 'the buffers are reused cleanly after a long message');
  }
  t.ok(constantTimeEqual('abc', 'abc'));
  t.notOk(constantTimeEqual('abc', 'abd'));
  t.notOk(constantTimeEqual('abc', 'abcd'));
});
