import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nobleProvider } from '../../protocol/crypto/noble';
import { nodeProvider } from '../../protocol-node/crypto-node';
import type { AeadAlg, CryptoProvider } from '../../protocol/crypto/provider';
import { ProtocolError } from '../../protocol/errors';
import { FRAME_HEADER_LEN, SecureChannel } from '../../protocol/channel/channel';
import { paddedLength, isBucketLength, unpad } from '../../protocol/channel/padding';
import { ClientHandshake, ServerHandshake } from '../../protocol/handshake/handshake';
import type { Limits } from '../../protocol/limits';
import { codeOf as code } from '../helpers/errors';

const enc = new TextEncoder();
const dec = new TextDecoder();

function pair(
  crypto: CryptoProvider = nodeProvider,
  aead: AeadAlg = 'aes-256-gcm',
  limits?: Partial<Limits>,
) {
  const c2s = crypto.randomBytes(32);
  const s2c = crypto.randomBytes(32);
  return {
    client: new SecureChannel({ crypto, aead, role: 'client', sendKey: c2s, recvKey: s2c, limits }),
    server: new SecureChannel({ crypto, aead, role: 'server', sendKey: s2c, recvKey: c2s, limits }),
  };
}

describe('padding', () => {
  test('bucket ladder', () => {
    assert.equal(paddedLength(0), 256);
    assert.equal(paddedLength(252), 256);
    assert.equal(paddedLength(253), 1024);
    assert.equal(paddedLength(1020), 1024);
    assert.equal(paddedLength(1021), 4096);
    assert.equal(paddedLength(16380), 16384);
    assert.equal(paddedLength(16381), 32768);
    assert.equal(paddedLength(262144), 262144 + 16384);
    for (const n of [256, 1024, 4096, 16384, 32768, 49152]) assert.ok(isBucketLength(n));
    for (const n of [0, 255, 512, 2048, 8192, 16385, 20000]) assert.ok(!isBucketLength(n));
  });
  test('unpad refuses non-zero padding and oversized lengths', () => {
    const b = new Uint8Array(256);
    b[3] = 2;
    assert.equal(unpad(b, 'x').length, 2);
    b[200] = 1;
    assert.equal(
      code(() => unpad(b, 'x')),
      'bad_padding',
    );
    const c = new Uint8Array(256);
    c[2] = 1; // length 256 > 252
    assert.equal(
      code(() => unpad(c, 'x')),
      'bad_padding',
    );
    assert.equal(
      code(() => unpad(new Uint8Array(3), 'x')),
      'bad_padding',
    );
  });
  test('one-token frames are all the same size', () => {
    const { client } = pair();
    const sizes = new Set(
      ['a', 'hello', ' the', '\n\n```ts\n', 'x'.repeat(200)].map(
        (t) => client.seal(enc.encode(t)).length,
      ),
    );
    assert.deepEqual([...sizes], [FRAME_HEADER_LEN + 256 + 16]);
  });
});

describe('secure channel', () => {
  for (const crypto of [nodeProvider, nobleProvider]) {
    for (const aead of ['aes-256-gcm', 'chacha20-poly1305'] as AeadAlg[]) {
      test(`${crypto.name}/${aead}: round trip of sizes across buckets`, () => {
        const { client, server } = pair(crypto, aead);
        for (const n of [0, 1, 252, 253, 5000, 16380, 16381, 100_000]) {
          const pt = crypto.randomBytes(n);
          assert.deepEqual(server.open(client.seal(pt)), pt);
          assert.deepEqual(client.open(server.seal(pt)), pt);
        }
      });
    }
  }

  test('10,000 frames each way with rekeys, then authenticated close', async () => {
    // via a real handshake, small rekey interval so several epochs pass
    const verifier = async () => ({ ok: true, reports: [], summary: 'test' });
    const ch = new ClientHandshake({
      crypto: nodeProvider,
      verifier,
      requiredEvidence: [],
      limits: { rekeyAfterFrames: 1000 },
    });
    const sh = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: async () => [],
      serverInfo: new Uint8Array(),
      limits: { rekeyAfterFrames: 1000 },
    });
    const { clientFinished, session } = await ch.onServerHello(
      await sh.onClientHello(ch.clientHello()),
    );
    const server = sh.onClientFinished(clientFinished).channel;
    const client = session.channel;
    for (let i = 0; i < 10_000; i++) {
      const m = enc.encode(`c${i}`);
      assert.equal(dec.decode(server.open(client.seal(m))), `c${i}`);
      const n = enc.encode(`s${i}`);
      assert.equal(dec.decode(client.open(server.seal(n))), `s${i}`);
    }
    assert.equal(client.sendEpoch, 10);
    assert.equal(server.recvEpoch, 10);
    assert.equal(server.sendEpoch, 10);
    assert.equal(client.recvSeq, 10_000);
    const close = client.close();
    assert.equal(client.isClosed, true);
    assert.equal(
      code(() => client.seal(new Uint8Array(1))),
      'channel_closed',
    );
    const r = server.openFrame(close);
    assert.equal(r.kind, 'close');
    assert.equal(server.peerClosed, true);
    server.transportEnded(); // clean end: no throw
    assert.equal(
      code(() => server.open(client.seal.length ? close : close)),
      'channel_closed',
    );
    const sclose = server.close();
    assert.equal(client.openFrame(sclose).kind, 'close');
    client.transportEnded();
  });

  test('replay', () => {
    const { client, server } = pair();
    const f = client.seal(enc.encode('a'));
    server.open(f);
    assert.equal(
      code(() => server.open(f)),
      'replay',
    );
    assert.equal(
      code(() => server.open(client.seal(enc.encode('b')))),
      'channel_closed',
    );
  });

  test('gap, then reorder when the missing frame arrives late', () => {
    const { client, server } = pair();
    const f0 = client.seal(enc.encode('0'));
    const f1 = client.seal(enc.encode('1'));
    const f2 = client.seal(enc.encode('2'));
    assert.equal(
      code(() => server.open(f1)),
      'gap',
    );
    assert.equal(
      code(() => server.open(f0)),
      'reorder',
    );
    assert.equal(
      code(() => server.open(f2)),
      'channel_closed',
    );
    assert.equal(server.failure?.code, 'gap');
  });

  test('wrong_direction: a reflected frame', () => {
    const { client } = pair();
    const f = client.seal(enc.encode('x'));
    assert.equal(
      code(() => client.open(f)),
      'wrong_direction',
    );
  });

  test('wrong_epoch: a frame from the previous epoch after a rekey', () => {
    const { client, server } = pair(nodeProvider, 'aes-256-gcm', { rekeyAfterFrames: 2 });
    const f0 = client.seal(enc.encode('0'));
    const f1 = client.seal(enc.encode('1')); // carries key_update
    server.open(f0);
    server.open(f1);
    assert.equal(server.recvEpoch, 1);
    assert.equal(
      code(() => server.open(f0)),
      'wrong_epoch',
    );
  });

  test('decrypt_failed on a flipped ciphertext bit; the receive direction is then dead', () => {
    const { client, server } = pair();
    const f = client.seal(enc.encode('x'));
    f[FRAME_HEADER_LEN + 3] = (f[FRAME_HEADER_LEN + 3] as number) ^ 1;
    assert.equal(
      code(() => server.open(f)),
      'decrypt_failed',
    );
    assert.equal(
      code(() => server.open(client.seal(enc.encode('y')))),
      'channel_closed',
    );
  });

  test('header fields are authenticated or checked', () => {
    const cases: [number, number, string][] = [
      [0, 2, 'unsupported_version'],
      [1, 9, 'unknown_type'],
      [1, 2, 'decrypt_failed'], // data → close: header is AAD
      [3, 0x80, 'reserved_nonzero'],
      [3, 0x01, 'decrypt_failed'], // key_update flag forged
      [2, 2, 'wrong_direction'],
      [7, 1, 'wrong_epoch'],
      [15, 1, 'decrypt_failed'], // seq forged → nonce differs
    ];
    for (const [i, v, want] of cases) {
      const { client, server } = pair();
      const f = client.seal(enc.encode('x'));
      f[i] = v;
      assert.equal(
        code(() => server.open(f)),
        want,
        `byte ${i} = ${v}`,
      );
    }
  });

  test('length checks: truncated, too_large, bad_length', () => {
    const { client, server } = pair(nodeProvider, 'aes-256-gcm', { maxFramePlaintext: 1000 });
    const f = client.seal(enc.encode('x'));
    assert.equal(
      code(() => server.open(f.subarray(0, 100))),
      'truncated',
    );
    const p2 = pair(nodeProvider, 'aes-256-gcm', { maxFramePlaintext: 1000 });
    assert.equal(
      code(() => p2.server.open(new Uint8Array(20000))),
      'too_large',
    );
    assert.equal(
      code(() => client.seal(new Uint8Array(1001))),
      'too_large',
    );
    const p3 = pair();
    const g = p3.client.seal(new Uint8Array(5000));
    assert.equal(
      code(() => p3.server.open(g.subarray(0, g.length - 1))),
      'bad_length',
    );
  });

  test('truncation: the stream ends without a close frame', () => {
    const { client, server } = pair();
    server.open(client.seal(enc.encode('partial answer')));
    assert.equal(
      code(() => server.transportEnded()),
      'truncation',
    );
  });

  test('rekey_required is enforced by the receiver (hard cap) — sender always rekeys before', () => {
    const { client } = pair(nodeProvider, 'aes-256-gcm', { rekeyAfterFrames: 3 });
    for (let i = 0; i < 7; i++) client.seal(new Uint8Array(0));
    assert.equal(client.sendEpoch, 2);
  });

  test('zeroize makes the channel unusable', () => {
    const { client } = pair();
    client.zeroize();
    assert.equal(
      code(() => client.seal(new Uint8Array(1))),
      'channel_closed',
    );
    assert.equal(
      code(() => client.open(new Uint8Array(300))),
      'channel_closed',
    );
  });

  test('property: any mutation of a frame never yields plaintext', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (pt, pos, x) => {
          const { client, server } = pair();
          const f = client.seal(pt);
          const i = pos % f.length;
          f[i] = (f[i] as number) ^ x;
          let opened = false;
          try {
            server.open(f);
            opened = true;
          } catch (e) {
            assert.ok(e instanceof ProtocolError);
          }
          assert.equal(opened, false);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('property: replays and reorders of a genuine stream are always rejected', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        (n, picks) => {
          const { client, server } = pair(nodeProvider, 'aes-256-gcm', { rekeyAfterFrames: 4 });
          const frames = Array.from({ length: n }, (_, i) => client.seal(enc.encode(String(i))));
          const order = picks.map((p) => p % n);
          let expected = 0;
          for (const i of order) {
            const f = frames[i] as Uint8Array;
            if (i === expected && !server.failure) {
              assert.equal(dec.decode(server.open(f)), String(i));
              expected++;
            } else {
              assert.throws(
                () => server.open(f),
                (e: unknown) =>
                  e instanceof ProtocolError &&
                  ['replay', 'gap', 'reorder', 'wrong_epoch', 'channel_closed'].includes(e.code),
              );
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('property: random bytes as a frame only ever throw ProtocolError', () => {
    const { server } = pair();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => {
        const { server: s } = pair();
        assert.throws(
          () => s.open(b),
          (e: unknown) => e instanceof ProtocolError,
        );
      }),
      { numRuns: 300 },
    );
    assert.equal(server.failure, undefined);
  });
});

describe('key hygiene', () => {
  test('zeroize wipes the key material the AEAD instances use', () => {
    const key = nodeProvider.randomBytes(32);
    for (const crypto of [nodeProvider, nobleProvider]) {
      const k = key.slice();
      const aead = crypto.aead('aes-256-gcm', k);
      const n = new Uint8Array(12);
      const before = aead.seal(n, new Uint8Array(4), new Uint8Array(0));
      k.fill(0);
      const after = aead.seal(n, new Uint8Array(4), new Uint8Array(0));
      assert.notDeepEqual(
        after,
        before,
        `${crypto.name}: the AEAD uses the caller's (now wiped) key bytes`,
      );
    }
  });
});
