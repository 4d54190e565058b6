/**
 * Pre-generated client ephemeral keys (protocol/handshake/ephemeral.ts): same bytes as generating
 * them in clientHello, single use, wiped after the handshake, pool expiry / refill / dispose.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { nobleProvider } from '../../protocol/crypto/noble';
import type { CryptoProvider } from '../../protocol/crypto/provider';
import { ClientHandshake, ServerHandshake } from '../../protocol/handshake/handshake';
import { ClientEphemeralKeys, ClientEphemeralPool } from '../../protocol/handshake/ephemeral';
import { codeOf as code } from '../helpers/errors';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const allZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/** A deterministic random source (a counter-derived byte stream). */
function seeded(seed: number): (n: number) => Uint8Array {
  let ctr = seed;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (ctr++ * 131 + 7) & 0xff;
    return out;
  };
}

async function handshake(crypto: CryptoProvider, client: ClientHandshake) {
  const server = new ServerHandshake({
    crypto,
    collectEvidence: async () => [],
    serverInfo: new Uint8Array(8),
    random: seeded(99),
  });
  const hello = client.clientHello();
  const sh = await server.onClientHello(hello);
  const { clientFinished, session } = await client.onServerHello(sh);
  const serverSession = server.onClientFinished(clientFinished);
  return { hello, session, serverSession };
}

const verifier = async () => ({ ok: true, reports: [], summary: 'ok' });

describe('pre-generated client ephemeral keys', () => {
  for (const crypto of [nodeProvider, nobleProvider]) {
    test(`${crypto.name}: same ClientHello and transcript as keys generated in clientHello`, async () => {
      const inline = await handshake(
        crypto,
        new ClientHandshake({ crypto, verifier, requiredEvidence: [], random: seeded(1) }),
      );
      const random = seeded(1);
      const ephemeral = ClientEphemeralKeys.generate(crypto, random);
      const pre = await handshake(
        crypto,
        new ClientHandshake({ crypto, verifier, requiredEvidence: [], random, ephemeral }),
      );
      assert.equal(hex(pre.hello), hex(inline.hello));
      assert.equal(hex(pre.session.transcriptHash), hex(inline.session.transcriptHash));
      assert.equal(hex(pre.serverSession.transcriptHash), hex(pre.session.transcriptHash));
      const msg = new TextEncoder().encode('hello');
      assert.equal(hex(pre.serverSession.channel.open(pre.session.channel.seal(msg))), hex(msg));
    });
  }

  test('single use: a second handshake cannot take the same pairs; secrets wiped after use', async () => {
    const crypto = nodeProvider;
    const ephemeral = ClientEphemeralKeys.generate(crypto);
    const first = new ClientHandshake({ crypto, verifier, requiredEvidence: [], ephemeral });
    const hello = first.clientHello();
    assert.equal(ephemeral.state, 'taken');
    const second = new ClientHandshake({ crypto, verifier, requiredEvidence: [], ephemeral });
    assert.equal(
      code(() => second.clientHello()),
      'usage',
    );
    assert.equal(
      code(() => ephemeral.take()),
      'usage',
    );
    const server = new ServerHandshake({
      crypto,
      collectEvidence: async () => [],
      serverInfo: new Uint8Array(8),
    });
    const sh = await server.onClientHello(hello);
    const { session } = await first.onServerHello(sh);
    assert.equal(session.transcriptHash.length, 32);
  });

  test('the handshake that took the pairs wipes both secret keys', async () => {
    // A provider that records the secret keys it hands out, to observe the wipe.
    const secrets: Uint8Array[] = [];
    const crypto: CryptoProvider = {
      ...nodeProvider,
      x25519KeyPair: (sk) => {
        const kp = nodeProvider.x25519KeyPair(sk);
        secrets.push(kp.secretKey);
        return kp;
      },
      mlkem768: {
        ...nodeProvider.mlkem768,
        keygen: (seed) => {
          const kp = nodeProvider.mlkem768.keygen(seed);
          secrets.push(kp.secretKey);
          return kp;
        },
      },
    };
    const owned = ClientEphemeralKeys.generate(crypto);
    assert.equal(secrets.length, 2);
    assert.equal(secrets.some(allZero), false);
    const client = new ClientHandshake({
      crypto,
      verifier,
      requiredEvidence: [],
      ephemeral: owned,
    });
    const server = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: async () => [],
      serverInfo: new Uint8Array(8),
    });
    const sh = await server.onClientHello(client.clientHello());
    assert.equal(secrets.some(allZero), false); // still needed until the ServerHello
    await client.onServerHello(sh);
    assert.equal(secrets.length, 2); // nothing generated in clientHello
    assert.equal(secrets.every(allZero), true);
    // An untaken pair is wiped by wipe() and then refused.
    const spare = ClientEphemeralKeys.generate(crypto);
    spare.wipe();
    assert.equal(spare.state, 'wiped');
    assert.equal(secrets.slice(2).every(allZero), true);
    assert.equal(
      code(() => spare.take()),
      'usage',
    );
  });

  test('a failed clientHello still wipes the taken pairs', () => {
    const crypto = nodeProvider;
    const ephemeral = ClientEphemeralKeys.generate(crypto);
    const client = new ClientHandshake({
      crypto,
      verifier,
      requiredEvidence: [],
      ephemeral,
      random: () => new Uint8Array(3), // wrong length for the client random
    });
    // Observe the pairs through a second reference taken before the handshake's take().
    let taken: { x: Uint8Array; m: Uint8Array } | undefined;
    const origTake = ephemeral.take.bind(ephemeral);
    ephemeral.take = () => {
      const k = origTake();
      taken = { x: k.x25519.secretKey, m: k.mlkem.secretKey };
      return k;
    };
    assert.equal(
      code(() => client.clientHello()),
      'usage',
    );
    assert.equal(ephemeral.state, 'taken');
    assert.ok(taken);
    assert.equal(allZero(taken.x) && allZero(taken.m), true);
  });
});

describe('ClientEphemeralPool', () => {
  test('take returns ready pairs, refills in scheduled idle time, each pair once', () => {
    const queue: (() => void)[] = [];
    let t = 1000;
    const pool = new ClientEphemeralPool({
      crypto: nodeProvider,
      schedule: (fn) => queue.push(fn),
      now: () => t,
    });
    assert.equal(pool.ready, 0);
    const a = pool.take(); // generated on the spot
    assert.equal(queue.length, 1);
    queue.shift()!();
    assert.equal(pool.ready, 1);
    const b = pool.take(); // the pre-generated one
    assert.notEqual(a, b);
    assert.equal(pool.ready, 0);
    const ka = a.take();
    const kb = b.take();
    assert.notEqual(hex(ka.x25519.publicKey), hex(kb.x25519.publicKey));
    assert.notEqual(hex(ka.mlkem.publicKey), hex(kb.mlkem.publicKey));
    // Only one refill is scheduled at a time.
    pool.take();
    pool.take();
    assert.equal(queue.length, 1);
    t += 1;
    queue.shift()!();
    assert.equal(pool.ready, 1);
  });

  test('expired pairs are wiped and never handed out', () => {
    const queue: (() => void)[] = [];
    let t = 0;
    const pool = new ClientEphemeralPool({
      crypto: nodeProvider,
      schedule: (fn) => queue.push(fn),
      now: () => t,
      maxAgeMs: 1000,
    });
    pool.refill();
    assert.equal(pool.ready, 1);
    t = 1001;
    const k = pool.take();
    assert.equal(k.createdAt, 1001); // generated now, not the stale one
    assert.equal(k.state, 'fresh');
    // A clock that went backwards also discards (no entry "from the future").
    pool.refill();
    t = 500;
    assert.equal(pool.take().createdAt, 500);
  });

  test('dispose wipes ready pairs and refuses later takes; scheduled refills do nothing', () => {
    const queue: (() => void)[] = [];
    const pool = new ClientEphemeralPool({
      crypto: nodeProvider,
      schedule: (fn) => queue.push(fn),
      size: 2,
    });
    pool.refill();
    assert.equal(pool.ready, 2);
    pool.take();
    pool.dispose();
    assert.equal(pool.ready, 0);
    assert.equal(
      code(() => pool.take()),
      'usage',
    );
    for (const fn of queue.splice(0)) fn();
    assert.equal(pool.ready, 0);
  });

  test('option checks', () => {
    const schedule = (): void => {};
    for (const size of [0, 17, 1.5])
      assert.equal(
        code(() => new ClientEphemeralPool({ crypto: nodeProvider, schedule, size })),
        'usage',
      );
    for (const maxAgeMs of [0, -1, Number.NaN])
      assert.equal(
        code(() => new ClientEphemeralPool({ crypto: nodeProvider, schedule, maxAgeMs })),
        'usage',
      );
  });
});
