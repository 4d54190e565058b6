/**
 * Wycheproof (C2SP/wycheproof, copies in ../shared/vectors/wycheproof/) against BOTH providers.
 *
 * AEAD scope: the protocol's AEAD interface is fixed at a 256-bit key, a 96-bit nonce and a
 * 128-bit tag. Every Wycheproof case with those parameters is run (valid ones must seal to the
 * exact bytes and open; invalid ones must not open). Every case with other parameters is checked
 * to be REFUSED by the provider (key length → ProtocolError('bad_length'); nonce length → seal
 * throws ProtocolError('bad_length'), open returns null). That includes the AES-GCM 257-byte-IV
 * cases (tcId 268, 272, 276) that Node's OpenSSL binding rejects: our interface never accepts them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readShared, skipUnlessShared } from '../helpers/shared';
import { nobleProvider } from '../../protocol/crypto/noble';
import { nodeProvider } from '../../protocol-node/crypto-node';
import type { AeadAlg, CryptoProvider, EcCurve, HashAlg } from '../../protocol/crypto/provider';
import { ProtocolError } from '../../protocol/errors';

const providers: CryptoProvider[] = [nobleProvider, nodeProvider];
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface WTest {
  tcId: number;
  result: 'valid' | 'invalid' | 'acceptable';
  flags: string[];
  [k: string]: unknown;
}
interface WGroup {
  tests: WTest[];
  [k: string]: unknown;
}
function load(name: string): WGroup[] {
  return (
    JSON.parse(readShared('vectors', 'wycheproof', name).toString('utf8')) as {
      testGroups: WGroup[];
    }
  ).testGroups;
}
const s = (t: WTest, k: string): string => t[k] as string;

function throwsCode(f: () => unknown, code: string): boolean {
  try {
    f();
    return false;
  } catch (e) {
    return e instanceof ProtocolError && e.code === code;
  }
}

for (const p of providers) {
  describe(`wycheproof with the ${p.name} provider`, () => {
    for (const [file, alg] of [
      ['chacha20_poly1305_test.json', 'chacha20-poly1305'],
      ['aes_gcm_test.json', 'aes-256-gcm'],
    ] as const) {
      test(`${alg} (${file})`, { skip: skipUnlessShared('vectors', 'wycheproof', file) }, () => {
        let ran = 0;
        let refused = 0;
        for (const g of load(file)) {
          for (const t of g.tests) {
            const key = hex(s(t, 'key'));
            const iv = hex(s(t, 'iv'));
            const aad = hex(s(t, 'aad'));
            const msg = hex(s(t, 'msg'));
            const ct = hex(s(t, 'ct') + s(t, 'tag'));
            const where = `tcId ${t.tcId}`;
            if (key.length !== 32) {
              assert.ok(
                throwsCode(() => p.aead(alg as AeadAlg, key), 'bad_length'),
                `${where}: key refused`,
              );
              refused++;
              continue;
            }
            const aead = p.aead(alg as AeadAlg, key);
            if (iv.length !== 12) {
              assert.ok(
                throwsCode(() => aead.seal(iv, msg, aad), 'bad_length'),
                `${where}: nonce refused`,
              );
              assert.equal(aead.open(iv, ct, aad), null, `${where}: open refuses nonce`);
              refused++;
              continue;
            }
            ran++;
            const opened = aead.open(iv, ct, aad);
            if (t.result === 'valid') {
              assert.equal(toHex(aead.seal(iv, msg, aad)), toHex(ct), `${where}: seal`);
              assert.ok(opened, `${where}: open`);
              assert.equal(toHex(opened), toHex(msg), `${where}: plaintext`);
            } else {
              assert.equal(opened, null, `${where}: invalid must not open (${t.flags.join(',')})`);
            }
          }
        }
        assert.ok(ran > 50, `ran ${ran} cases`);
        assert.ok(refused > 0);
      });
    }

    test('x25519', { skip: skipUnlessShared('vectors', 'wycheproof', 'x25519_test.json') }, () => {
      let zero = 0;
      for (const g of load('x25519_test.json')) {
        for (const t of g.tests) {
          const sk = hex(s(t, 'private'));
          const pk = hex(s(t, 'public'));
          const shared = s(t, 'shared');
          assert.notEqual(t.result, 'invalid', 'the x25519 file has no invalid cases');
          if (/^0+$/.test(shared)) {
            // Low-order public keys: the all-zero secret is refused (RFC 7748 §6.1 check).
            assert.ok(
              throwsCode(() => p.x25519(sk, pk), 'bad_key'),
              `tcId ${t.tcId}: zero shared secret refused`,
            );
            zero++;
          } else {
            assert.equal(toHex(p.x25519(sk, pk)), shared, `tcId ${t.tcId} (${t.flags.join(',')})`);
          }
        }
      }
      assert.ok(zero > 0);
    });

    test('x25519 key pair matches the RFC 7748 §6.1 example', () => {
      const kp = p.x25519KeyPair(
        hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'),
      );
      assert.equal(
        toHex(kp.publicKey),
        '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
      );
    });

    test(
      'hkdf-sha256',
      { skip: skipUnlessShared('vectors', 'wycheproof', 'hkdf_sha256_test.json') },
      () => {
        for (const g of load('hkdf_sha256_test.json')) {
          for (const t of g.tests) {
            const args = [
              hex(s(t, 'ikm')),
              hex(s(t, 'salt')),
              hex(s(t, 'info')),
              t['size'] as number,
            ] as const;
            if (t.result === 'valid')
              assert.equal(toHex(p.hkdf('SHA-256', ...args)), s(t, 'okm'), `tcId ${t.tcId}`);
            else
              assert.ok(
                throwsCode(() => p.hkdf('SHA-256', ...args), 'usage'),
                `tcId ${t.tcId}: ${t['comment']}`,
              );
          }
        }
      },
    );

    for (const [file, curve, hash] of [
      ['ecdsa_secp256r1_sha256_p1363_test.json', 'P-256', 'SHA-256'],
      ['ecdsa_secp384r1_sha384_p1363_test.json', 'P-384', 'SHA-384'],
    ] as const) {
      test(
        `ecdsa ${curve} ${hash} p1363`,
        { skip: skipUnlessShared('vectors', 'wycheproof', file) },
        () => {
          for (const g of load(file)) {
            const point = hex((g['publicKey'] as { uncompressed: string }).uncompressed);
            const key = { kind: 'ec', curve: curve as EcCurve, point } as const;
            for (const t of g.tests) {
              const ok = p.ecdsaVerify(key, hash as HashAlg, hex(s(t, 'msg')), hex(s(t, 'sig')));
              assert.equal(ok, t.result === 'valid', `tcId ${t.tcId} (${t.flags.join(',')})`);
            }
          }
        },
      );
    }

    test(
      'rsa-pss 4096 sha384 mgf1 48',
      { skip: skipUnlessShared('vectors', 'wycheproof', 'rsa_pss_4096_sha384_mgf1_48_test.json') },
      () => {
        for (const g of load('rsa_pss_4096_sha384_mgf1_48_test.json')) {
          const pk = g['publicKey'] as { modulus: string; publicExponent: string };
          const key = { kind: 'rsa', n: hex(pk.modulus), e: hex(pk.publicExponent) } as const;
          for (const t of g.tests) {
            const ok = p.rsaVerify(
              key,
              { scheme: 'pss', hash: 'SHA-384', saltLength: g['sLen'] as number },
              hex(s(t, 'msg')),
              hex(s(t, 'sig')),
            );
            assert.equal(ok, t.result === 'valid', `tcId ${t.tcId} (${t.flags.join(',')})`);
          }
        }
      },
    );

    test(
      'rsa pkcs1 v1.5 2048 sha256',
      { skip: skipUnlessShared('vectors', 'wycheproof', 'rsa_signature_2048_sha256_test.json') },
      () => {
        for (const g of load('rsa_signature_2048_sha256_test.json')) {
          const pk = g['publicKey'] as { modulus: string; publicExponent: string };
          const key = { kind: 'rsa', n: hex(pk.modulus), e: hex(pk.publicExponent) } as const;
          for (const t of g.tests) {
            const ok = p.rsaVerify(
              key,
              { scheme: 'pkcs1v15', hash: 'SHA-256' },
              hex(s(t, 'msg')),
              hex(s(t, 'sig')),
            );
            // 'acceptable' (MissingNull DigestInfo) is rejected: we accept only the RFC 8017 encoding.
            assert.equal(ok, t.result === 'valid', `tcId ${t.tcId} (${t.flags.join(',')})`);
          }
        }
      },
    );
  });
}
