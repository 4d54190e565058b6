/**
 * Wipe what was promised (PROTOCOL.md §3.4): a crypto provider that records every secret buffer
 * it hands out or receives (random draws, X25519 secrets and shared secrets, the ML-KEM seed d‖z
 * and secret key, the encapsulation seed and shared secret, HKDF output, AEAD keys) shows each one
 * all-zero after (a) a completed handshake whose channels are closed, (b) a handshake abandoned
 * after the ServerHello (client and server), (c) a server handshake abandoned while its evidence
 * is collected, and (d) the real EnclaveServer when a client hangs up after the ServerHello.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { CryptoProvider } from '../../protocol/crypto/provider';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { nobleProvider } from '../../protocol/crypto/noble';
import { ClientHandshake, ServerHandshake } from '../../protocol/handshake/handshake';
import { EnclaveServer } from '../../enclave-server/server';
import type { Engine } from '../../enclave-server/engine/types';
import { silentLogger } from '../../enclave-server/log';
import { resolveLimits } from '../../protocol/limits';
import { ProtocolError } from '../../protocol/errors';
import { testLimits } from '../helpers/server-limits';

interface Spy {
  readonly crypto: CryptoProvider;
  readonly secrets: { what: string; buf: Uint8Array }[];
}

function spy(inner: CryptoProvider): Spy {
  const secrets: { what: string; buf: Uint8Array }[] = [];
  const keep = <T extends Uint8Array>(what: string, buf: T): T => {
    secrets.push({ what, buf });
    return buf;
  };
  const crypto: CryptoProvider = {
    ...inner,
    randomBytes: (n) => keep(`randomBytes(${n})`, inner.randomBytes(n)),
    hkdf: (alg, ikm, salt, info, length) =>
      keep('hkdf output', inner.hkdf(alg, ikm, salt, info, length)),
    x25519KeyPair: (sk) => {
      if (sk) keep('x25519KeyPair input', sk);
      const kp = inner.x25519KeyPair(sk);
      keep('x25519 secret key', kp.secretKey);
      return kp;
    },
    x25519: (sk, pk) => keep('x25519 shared secret', inner.x25519(sk, pk)),
    mlkem768: {
      ...inner.mlkem768,
      keygen: (seed) => {
        if (seed) keep('ML-KEM seed d‖z', seed);
        const kp = inner.mlkem768.keygen(seed);
        keep('ML-KEM secret key', kp.secretKey);
        return kp;
      },
      encapsulate: (pk, seed) => {
        if (seed) keep('ML-KEM encapsulation seed', seed);
        const r = inner.mlkem768.encapsulate(pk, seed);
        keep('ML-KEM shared secret (server)', r.sharedSecret);
        return r;
      },
      decapsulate: (ct, sk) =>
        keep('ML-KEM shared secret (client)', inner.mlkem768.decapsulate(ct, sk)),
    },
    aead: (alg, key) => inner.aead(alg, keep('AEAD key', key)),
    // The finished keys reach the provider only as HMAC keys (the pending server keys included).
    hmac: (alg, key, data) => inner.hmac(alg, keep('HMAC key', key), data),
  };
  return { crypto, secrets };
}

function assertWiped(s: Spy, where: string, except: (what: string) => boolean = () => false): void {
  assert.ok(s.secrets.length > 0, `${where}: nothing recorded`);
  const left = s.secrets.filter((x) => !except(x.what) && x.buf.some((b) => b !== 0));
  assert.deepEqual(
    left.map((x) => x.what),
    [],
    `${where}: secret buffers not wiped`,
  );
}

const INFO = new Uint8Array([1, 2, 3]);
const okVerifier = async () => ({ ok: true, summary: 'test', reports: [] });

/** A client and a server handshake, each on its own spying provider, with no evidence. */
function pair(inner: CryptoProvider): {
  c: Spy;
  s: Spy;
  client: ClientHandshake;
  server: ServerHandshake;
} {
  const c = spy(inner);
  const s = spy(inner);
  return {
    c,
    s,
    client: new ClientHandshake({ crypto: c.crypto, verifier: okVerifier, requiredEvidence: [] }),
    server: new ServerHandshake({
      crypto: s.crypto,
      collectEvidence: async () => [],
      serverInfo: INFO,
    }),
  };
}

for (const [name, inner] of [
  ['node', nodeProvider],
  ['noble', nobleProvider],
] as const) {
  describe(`secrets are wiped (${name} provider)`, () => {
    test('completed handshake, then both channels closed: every secret is zero', async () => {
      const { c, s, client, server } = pair(inner);
      const sh = await server.onClientHello(client.clientHello());
      const { clientFinished, session } = await client.onServerHello(sh);
      const established = server.onClientFinished(clientFinished);
      // A frame each way: the channels work before they are closed.
      const frame = session.channel.seal(new Uint8Array([7]));
      assert.deepEqual([...established.channel.openFrame(frame).plaintext], [7]);
      session.channel.zeroize();
      established.channel.zeroize();
      assertWiped(c, 'client');
      assertWiped(s, 'server');
    });

    test('abandoned after the ServerHello: client dispose() and server dispose() wipe everything', async () => {
      const { c, s, client, server } = pair(inner);
      await server.onClientHello(client.clientHello());
      // Before dispose the server holds its pending traffic keys (the test can fail).
      assert.ok(s.secrets.some((x) => x.what === 'HMAC key' && x.buf.some((b) => b !== 0)));
      assert.ok(
        c.secrets.some((x) => x.what === 'ML-KEM secret key' && x.buf.some((b) => b !== 0)),
      );
      server.dispose();
      client.dispose();
      assertWiped(s, 'server');
      assertWiped(c, 'client');
      assert.throws(
        () => server.onClientFinished(new Uint8Array(33)),
        (e: unknown) => e instanceof ProtocolError && e.code === 'handshake_state',
      );
    });

    test('abandoned while the evidence is collected: nothing is derived, everything is zero', async () => {
      const c = spy(inner);
      const s = spy(inner);
      let release: () => void = () => {};
      const server = new ServerHandshake({
        crypto: s.crypto,
        collectEvidence: () => new Promise((r) => (release = () => r([]))),
        serverInfo: INFO,
      });
      const client = new ClientHandshake({
        crypto: c.crypto,
        verifier: okVerifier,
        requiredEvidence: [],
      });
      const pending = server.onClientHello(client.clientHello());
      await new Promise((r) => setImmediate(r));
      server.dispose();
      release();
      await assert.rejects(
        pending,
        (e: unknown) => e instanceof ProtocolError && e.code === 'handshake_state',
      );
      assert.ok(!s.secrets.some((x) => x.what === 'hkdf output'), 'no key derived');
      assertWiped(s, 'server');
    });
  });
}

test('EnclaveServer: a client that hangs up after the ServerHello leaves no server secret behind', async () => {
  const s = spy(nodeProvider);
  const engine: Engine = {
    info: { engine: 'llama', modelId: 'm', modelSha256: '', modelBytes: 0, settings: {} },
    openSession: () => ({ generate: () => Promise.reject(new Error('unused')), dispose: () => {} }),
    stats: () => ({ busy: 0, queued: 0, capacity: 1 }),
    close: async () => {},
  };
  const srv = new EnclaveServer({
    host: '127.0.0.1',
    port: 0,
    limits: testLimits({ maxPendingHandshakes: 8, maxPendingPerAddress: 8 }),
    engine,
    log: silentLogger,
    protocolLimits: resolveLimits({}),
    newHandshake: () =>
      new ServerHandshake({ crypto: s.crypto, collectEvidence: async () => [], serverInfo: INFO }),
  });
  const url = await srv.listen();
  try {
    const ws = new WebSocket(url);
    await new Promise((r) => ws.once('open', r));
    const client = new ClientHandshake({
      crypto: nodeProvider,
      verifier: okVerifier,
      requiredEvidence: [],
    });
    const reply = new Promise((r) => ws.once('message', r));
    ws.send(client.clientHello());
    await reply;
    assert.ok(
      s.secrets.some((x) => x.what === 'HMAC key' && x.buf.some((b) => b !== 0)),
      'pending keys exist',
    );
    ws.close();
    for (let i = 0; i < 200 && srv.stats().connections > 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(srv.stats().connections, 0);
    assertWiped(s, 'server after the client hung up');
    client.dispose();
  } finally {
    await srv.shutdown();
  }
});
