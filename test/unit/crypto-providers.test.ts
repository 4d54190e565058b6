/**
 * The noble (pure) and node (OpenSSL) providers must produce identical bytes for the same inputs,
 * and refuse the same malformed inputs with the same typed errors.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { constants, generateKeyPairSync, sign } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import { nobleProvider } from '../../protocol/crypto/noble';
import { mlkemNativeCalls, nodeKem, nodeProvider } from '../../protocol-node/crypto-node';
import type { AeadAlg, HashAlg } from '../../protocol/crypto/provider';
import { codeOf as code } from '../helpers/errors';

const a = nobleProvider;
const b = nodeProvider;
const hex = (x: Uint8Array): string => Buffer.from(x).toString('hex');
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

describe('providers agree byte for byte', () => {
  for (const alg of ['aes-256-gcm', 'chacha20-poly1305'] as AeadAlg[]) {
    test(`${alg} seal/open`, () => {
      fc.assert(
        fc.property(
          bytes(32, 32),
          bytes(12, 12),
          bytes(0, 2000),
          bytes(0, 64),
          (key, nonce, pt, aad) => {
            const x = a.aead(alg, key).seal(nonce, pt, aad);
            const y = b.aead(alg, key).seal(nonce, pt, aad);
            assert.equal(hex(x), hex(y));
            assert.equal(hex(b.aead(alg, key).open(nonce, x, aad) ?? new Uint8Array([1])), hex(pt));
            assert.equal(hex(a.aead(alg, key).open(nonce, y, aad) ?? new Uint8Array([1])), hex(pt));
            // the in-place fast path yields the same bytes
            for (const p of [a, b]) {
              const buf = pt.slice();
              const tag = p.aead(alg, key).sealInPlace?.(nonce, buf, aad);
              assert.ok(tag);
              assert.equal(hex(buf) + hex(tag), hex(x));
            }
            // any single-bit flip is rejected by both
            const bad = x.slice();
            bad[pt.length % bad.length] = (bad[pt.length % bad.length] as number) ^ 1;
            assert.equal(a.aead(alg, key).open(nonce, bad, aad), null);
            assert.equal(b.aead(alg, key).open(nonce, bad, aad), null);
          },
        ),
        { numRuns: 200 },
      );
    });
  }

  test('hash, hmac, hkdf', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<HashAlg>('SHA-256', 'SHA-384', 'SHA-512'),
        bytes(0, 300),
        bytes(0, 100),
        bytes(0, 40),
        fc.integer({ min: 0, max: 300 }),
        (alg, ikm, salt, info, len) => {
          assert.equal(hex(a.hash(alg, ikm)), hex(b.hash(alg, ikm)));
          assert.equal(hex(a.hmac(alg, salt, ikm)), hex(b.hmac(alg, salt, ikm)));
          assert.equal(
            hex(a.hkdf(alg, ikm, salt, info, len)),
            hex(b.hkdf(alg, ikm, salt, info, len)),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  test('x25519 key pairs and shared secrets', () => {
    fc.assert(
      fc.property(bytes(32, 32), bytes(32, 32), (s1, s2) => {
        const k1 = a.x25519KeyPair(s1);
        const k2 = b.x25519KeyPair(s2);
        assert.equal(hex(k1.publicKey), hex(b.x25519KeyPair(s1).publicKey));
        assert.equal(hex(k2.publicKey), hex(a.x25519KeyPair(s2).publicKey));
        assert.equal(hex(a.x25519(s1, k2.publicKey)), hex(b.x25519(s2, k1.publicKey)));
      }),
      { numRuns: 100 },
    );
  });

  test('x25519: OpenSSL-generated pairs (the handshake path) agree with noble', () => {
    // The unseeded call is what the client pool and the server use: OpenSSL generates the pair.
    for (let i = 0; i < 50; i++) {
      const k = b.x25519KeyPair();
      assert.ok(!Buffer.isBuffer(k.secretKey) && !Buffer.isBuffer(k.publicKey));
      assert.equal(hex(a.x25519KeyPair(k.secretKey).publicKey), hex(k.publicKey));
      const peer = a.x25519KeyPair(a.randomBytes(32));
      assert.equal(
        hex(b.x25519(k.secretKey, peer.publicKey)),
        hex(a.x25519(peer.secretKey, k.publicKey)),
      );
    }
  });

  test('x25519: a secret key rewritten in place is used as it is now (no stale cached key)', () => {
    const k = b.x25519KeyPair();
    const peer = a.x25519KeyPair(a.randomBytes(32));
    const before = hex(b.x25519(k.secretKey, peer.publicKey));
    k.secretKey[5] = (k.secretKey[5] as number) ^ 0x40;
    const after = hex(b.x25519(k.secretKey, peer.publicKey));
    assert.notEqual(after, before);
    assert.equal(after, hex(a.x25519(k.secretKey, peer.publicKey)));
  });

  test('ml-kem-768: seeded calls agree (both providers run noble for seeds)', () => {
    const seed = new Uint8Array(64).fill(7);
    const kp1 = a.mlkem768.keygen(seed);
    const kp2 = b.mlkem768.keygen(seed);
    assert.equal(hex(kp1.publicKey), hex(kp2.publicKey));
    const e = a.mlkem768.encapsulate(kp1.publicKey, new Uint8Array(32).fill(9));
    assert.equal(
      hex(e.cipherText),
      hex(b.mlkem768.encapsulate(kp2.publicKey, new Uint8Array(32).fill(9)).cipherText),
    );
    assert.equal(hex(b.mlkem768.decapsulate(e.cipherText, kp2.secretKey)), hex(e.sharedSecret));
  });

  test(`ml-kem-768: this Node's native path (${process.version}) agrees with noble both ways`, () => {
    const major = Number(process.versions.node.split('.')[0]);
    // OpenSSL ≥ 3.5 (Node ≥ 24) has ML-KEM; a Node 24 that lost it, or an older line that gained
    // it, fails here rather than silently changing which code the handshake runs.
    assert.equal(nodeKem() !== null, major >= 24, `native ML-KEM on Node ${process.version}`);
    const before = { ...mlkemNativeCalls };
    for (let i = 0; i < 5; i++) {
      const kp = a.mlkem768.keygen();
      const x = b.mlkem768.encapsulate(kp.publicKey); // unseeded: native where available
      assert.equal(hex(a.mlkem768.decapsulate(x.cipherText, kp.secretKey)), hex(x.sharedSecret));
      const y = a.mlkem768.encapsulate(kp.publicKey);
      assert.equal(hex(b.mlkem768.decapsulate(y.cipherText, kp.secretKey)), hex(y.sharedSecret));
    }
    const native = nodeKem() !== null ? 5 : 0;
    assert.equal(mlkemNativeCalls.encapsulate - before.encapsulate, native);
    assert.equal(mlkemNativeCalls.decapsulate - before.decapsulate, native);
  });
});

describe('providers refuse the same inputs the same way', () => {
  for (const p of [a, b]) {
    test(`${p.name}: lengths and low-order points`, () => {
      assert.equal(
        code(() => p.aead('aes-256-gcm', new Uint8Array(16))),
        'bad_length',
      );
      assert.equal(
        code(() => p.aead('rc4' as AeadAlg, new Uint8Array(32))),
        'crypto_unsupported',
      );
      const aead = p.aead('chacha20-poly1305', new Uint8Array(32));
      assert.equal(
        code(() => aead.seal(new Uint8Array(8), new Uint8Array(1), new Uint8Array(0))),
        'bad_length',
      );
      assert.equal(aead.open(new Uint8Array(12), new Uint8Array(15), new Uint8Array(0)), null);
      assert.equal(
        code(() => p.x25519(new Uint8Array(31), new Uint8Array(32))),
        'bad_length',
      );
      assert.equal(
        code(() => p.x25519(new Uint8Array(32), new Uint8Array(33))),
        'bad_length',
      );
      assert.equal(
        code(() => p.x25519(new Uint8Array(32).fill(1), new Uint8Array(32))),
        'bad_key',
      );
      assert.equal(
        code(() => p.x25519KeyPair(new Uint8Array(5))),
        'bad_length',
      );
      assert.equal(
        code(() =>
          p.hkdf('SHA-256', new Uint8Array(1), new Uint8Array(0), new Uint8Array(0), 255 * 32 + 1),
        ),
        'usage',
      );
      assert.equal(
        code(() => p.hash('MD5' as HashAlg, new Uint8Array(1))),
        'crypto_unsupported',
      );
      assert.equal(
        code(() => p.mlkem768.encapsulate(new Uint8Array(1183))),
        'bad_length',
      );
      assert.equal(
        code(() => p.mlkem768.encapsulate(new Uint8Array(1184).fill(0xff))),
        'bad_key',
      );
      assert.equal(
        code(() => p.mlkem768.decapsulate(new Uint8Array(1087), new Uint8Array(2400))),
        'bad_length',
      );
      assert.equal(
        code(() => p.mlkem768.keygen(new Uint8Array(32))),
        'bad_length',
      );
      assert.equal(p.randomBytes(33).length, 33);
      assert.equal(p.randomBytes(200_000).length, 200_000);
    });

    test(`${p.name}: verification never throws on garbage`, () => {
      fc.assert(
        fc.property(bytes(0, 200), bytes(0, 200), bytes(0, 600), (point, sig, n) => {
          assert.equal(
            p.ecdsaVerify({ kind: 'ec', curve: 'P-256', point }, 'SHA-256', sig, sig),
            false,
          );
          assert.equal(
            p.ecdsaVerify(
              { kind: 'ec', curve: 'P-384', point: Uint8Array.of(4, ...new Uint8Array(96)) },
              'SHA-384',
              sig,
              new Uint8Array(96),
            ),
            false,
          );
          assert.equal(
            p.rsaVerify(
              { kind: 'rsa', n, e: Uint8Array.of(1, 0, 1) },
              { scheme: 'pss', hash: 'SHA-256', saltLength: 32 },
              sig,
              sig,
            ),
            false,
          );
          assert.equal(
            p.rsaVerify(
              { kind: 'rsa', n, e: Uint8Array.of(3) },
              { scheme: 'pkcs1v15', hash: 'SHA-256' },
              sig,
              n,
            ),
            false,
          );
        }),
        { numRuns: 100 },
      );
    });
  }

  test('RSA key-shape rules are shared (even modulus, tiny exponent, short modulus)', () => {
    const n = new Uint8Array(256).fill(0xff); // odd, 2048 bits
    const even = n.slice();
    even[255] = 0xfe;
    for (const p of [a, b]) {
      const sig = new Uint8Array(256).fill(1);
      assert.equal(
        p.rsaVerify(
          { kind: 'rsa', n: even, e: Uint8Array.of(3) },
          { scheme: 'pkcs1v15', hash: 'SHA-256' },
          sig,
          sig,
        ),
        false,
      );
      assert.equal(
        p.rsaVerify(
          { kind: 'rsa', n, e: Uint8Array.of(1) },
          { scheme: 'pkcs1v15', hash: 'SHA-256' },
          sig,
          sig,
        ),
        false,
      );
      assert.equal(
        p.rsaVerify(
          { kind: 'rsa', n: n.subarray(0, 64), e: Uint8Array.of(3) },
          { scheme: 'pkcs1v15', hash: 'SHA-256' },
          sig,
          sig,
        ),
        false,
      );
      assert.equal(
        p.rsaVerify(
          { kind: 'rsa', n, e: new Uint8Array(9).fill(1) },
          { scheme: 'pkcs1v15', hash: 'SHA-256' },
          sig,
          sig,
        ),
        false,
      );
    }
  });
});

describe('signature verification agrees with OpenSSL signatures (both providers)', () => {
  // Keys are generated with their encodings requested at generation time (Node 20 pitfall).
  // (@types/node has no overload for a JWK publicKeyEncoding; Node supports it since 15.9.)
  const rsa = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { format: 'jwk' },
    privateKeyEncoding: { format: 'pem', type: 'pkcs8' },
  } as never) as unknown as { publicKey: JsonWebKey; privateKey: string };
  const rsaKey = {
    kind: 'rsa',
    n: new Uint8Array(Buffer.from(rsa.publicKey.n as string, 'base64url')),
    e: new Uint8Array(Buffer.from(rsa.publicKey.e as string, 'base64url')),
  } as const;
  const nodeHash = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' } as const;

  test('RSA-PSS (salt lengths 0, 20, hLen) and PKCS#1 v1.5 with SHA-256/384/512', () => {
    fc.assert(
      fc.property(
        bytes(0, 100),
        fc.constantFrom<HashAlg>('SHA-256', 'SHA-384', 'SHA-512'),
        fc.constantFrom(0, 20, -1),
        fc.nat(),
        (msg, h, salt, flip) => {
          const hLen = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 }[h];
          const saltLength = salt < 0 ? hLen : salt;
          const pss = new Uint8Array(
            sign(nodeHash[h], msg, {
              key: rsa.privateKey,
              padding: constants.RSA_PKCS1_PSS_PADDING,
              saltLength,
            }),
          );
          const v15 = new Uint8Array(
            sign(nodeHash[h], msg, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PADDING }),
          );
          for (const p of [a, b]) {
            assert.equal(
              p.rsaVerify(rsaKey, { scheme: 'pss', hash: h, saltLength }, msg, pss),
              true,
              `${p.name} pss`,
            );
            assert.equal(
              p.rsaVerify(rsaKey, { scheme: 'pss', hash: h, saltLength: saltLength + 1 }, msg, pss),
              false,
              `${p.name} pss wrong salt length`,
            );
            assert.equal(
              p.rsaVerify(rsaKey, { scheme: 'pkcs1v15', hash: h }, msg, v15),
              true,
              `${p.name} v1.5`,
            );
            assert.equal(
              p.rsaVerify(rsaKey, { scheme: 'pss', hash: h, saltLength }, msg, v15),
              false,
              `${p.name} scheme confusion`,
            );
            const bad = pss.slice();
            bad[flip % bad.length] = (bad[flip % bad.length] as number) ^ 1;
            assert.equal(
              p.rsaVerify(rsaKey, { scheme: 'pss', hash: h, saltLength }, msg, bad),
              false,
              `${p.name} flipped`,
            );
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  test('ECDSA P-256 and P-384 with each hash', () => {
    for (const curve of ['P-256', 'P-384'] as const) {
      const kp = generateKeyPairSync('ec', {
        namedCurve: curve,
        publicKeyEncoding: { format: 'jwk' },
        privateKeyEncoding: { format: 'pem', type: 'pkcs8' },
      } as never) as unknown as { publicKey: JsonWebKey; privateKey: string };
      const point = new Uint8Array([
        4,
        ...Buffer.from(kp.publicKey.x as string, 'base64url'),
        ...Buffer.from(kp.publicKey.y as string, 'base64url'),
      ]);
      const key = { kind: 'ec', curve, point } as const;
      for (const h of ['SHA-256', 'SHA-384', 'SHA-512'] as HashAlg[]) {
        const msg = new Uint8Array(Buffer.from(`message for ${curve} ${h}`));
        const sig = new Uint8Array(
          sign(nodeHash[h], msg, { key: kp.privateKey, dsaEncoding: 'ieee-p1363' }),
        );
        for (const p of [a, b]) {
          assert.equal(p.ecdsaVerify(key, h, msg, sig), true, `${p.name} ${curve} ${h}`);
          assert.equal(
            p.ecdsaVerify(key, h, msg.subarray(1), sig),
            false,
            `${p.name} ${curve} ${h} other message`,
          );
          assert.equal(
            p.ecdsaVerify({ ...key, curve: curve === 'P-256' ? 'P-384' : 'P-256' }, h, msg, sig),
            false,
            `${p.name} wrong curve`,
          );
        }
      }
    }
  });
});
