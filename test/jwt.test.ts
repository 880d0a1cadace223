import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createSigner } from 'fast-jwt';
import t from 'tap';
import { createAdminCheck, createUserVerifier, mintToken } from '../src/auth/jwt';
import { tempDir } from './helpers/services';

const pairs = {
  RS256: generateKeyPairSync('rsa', { modulusLength: 2048 }),
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  EdDSA: generateKeyPairSync('ed25519'),
};

for (const [alg, { privateKey, publicKey }] of Object.entries(pairs)) {
  t.test(`${alg}: public key as PEM text and as a file`, async (t) => {
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const file = path.join(tempDir(t), 'key.pem');
    fs.writeFileSync(file, pem);
    const sign = createSigner({ key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
    for (const key of [pem, file]) {
      const verify = createUserVerifier('', key, 100);
      t.equal(verify(`Bearer ${sign({ sub: 'ada' })}`), 'ada', 'valid token → sub');
      t.equal(verify(`Bearer ${mintToken('some-secret', 'ada')}`), undefined, 'an HS256 token is refused');
      const other = Object.values(pairs).find((p) => p.publicKey !== publicKey)!;
      const foreign = createSigner({ key: other.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
      t.equal(verify(`Bearer ${foreign({ sub: 'ada' })}`), undefined, 'another key type is refused');
      const expired = createSigner({ key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), expiresIn: 1000, clockTimestamp: Date.now() - 10_000 });
      t.equal(verify(`Bearer ${expired({ sub: 'ada' })}`), undefined, 'expired is refused');
      const why: string[] = [];
      const sink = { tokenRefused: (w: string) => void why.push(w) };
      verify(`Bearer ${expired({ sub: 'ada' })}`, sink);
      verify(`Bearer ${mintToken('some-secret', 'ada')}`, sink);
      verify(`Bearer ${foreign({ sub: 'ada' })}`, sink);
      t.same(why, ['expired', 'wrong algorithm', 'wrong algorithm'], 'each refusal says why (the 401 passes it on)');
    }
  });
}

t.test('HS256: exp enforced, tokens without exp accepted, the cache does not outlive exp', async (t) => {
  const verify = createUserVerifier('s3cret', '', 10);
  const short = mintToken('s3cret', 'bo', 60_000);
  t.equal(verify(`Bearer ${short}`), 'bo');
  t.equal(verify(`Bearer ${short}`), 'bo', 'again, from the cache');
  t.equal(verify(`Bearer ${mintToken('s3cret', 'bo')}`), 'bo', 'no exp: accepted');
  t.equal(verify('Bearer'), undefined);
  t.equal(verify(''), undefined);
  t.equal(verify(`bearer ${short}`), 'bo', 'the scheme name is case-insensitive (RFC 9110)');
  t.equal(verify(`Basic ${short}`), undefined, 'another scheme is refused');
});

t.test('admin check', async (t) => {
  const check = createAdminCheck('tok');
  t.ok(check('Bearer tok'));
  t.notOk(check('Bearer tok2'));
  t.notOk(check('Bearer to'));
  t.notOk(check(''));
  t.notOk(createAdminCheck('')('Bearer '), 'no admin token configured: nobody is admin');
});
