import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nobleProvider } from '../../protocol/crypto/noble';
import { nodeProvider } from '../../protocol-node/crypto-node';
import type { CryptoProvider } from '../../protocol/crypto/provider';
import type {
  BindingValues,
  EvidenceItem,
  EvidenceKind,
  EvidenceVerdict,
  EvidenceVerifier,
} from '../../protocol/attestation/types';
import { ProtocolError } from '../../protocol/errors';
import { ClientHandshake, ServerHandshake } from '../../protocol/handshake/handshake';
import type { EstablishedSession } from '../../protocol/handshake/handshake';
import { SUITE_AES_256_GCM, SUITE_CHACHA20_POLY1305 } from '../../protocol/handshake/messages';
import type { SuiteId } from '../../protocol/handshake/messages';
import { cpuReportData, gpuNonce } from '../../protocol/handshake/keys';
import { codeOfAsync as errCode } from '../helpers/errors';

const enc = new TextEncoder();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A test evidence source: the "report" part is the binding value itself (what real hardware signs). */
function fakeEvidence(kinds: readonly EvidenceKind[] = ['sev-snp', 'nvidia-gpu']) {
  return async (b: BindingValues, _required: readonly EvidenceKind[]): Promise<EvidenceItem[]> =>
    kinds.map((kind) => ({
      kind,
      label: kind === 'nvidia-gpu' ? 'gpu0' : '',
      parts: new Map([
        ['report', kind === 'nvidia-gpu' ? b.gpuNonce : b.cpuReportData],
        ['chain', enc.encode(`chain for ${kind}`)],
      ]),
    }));
}

/** A verifier that checks the binding the way real verifiers do (report part = binding value). */
const bindingVerifier: EvidenceVerifier = async (items, b) => {
  const ok = items.every(
    (i) =>
      hex(i.parts.get('report') ?? new Uint8Array()) ===
      hex(i.kind === 'nvidia-gpu' ? b.gpuNonce : b.cpuReportData),
  );
  return { ok, reports: [], summary: ok ? 'bound' : 'binding mismatch' } satisfies EvidenceVerdict;
};

interface Pair {
  client: EstablishedSession;
  server: EstablishedSession;
}

async function handshake(
  cc: CryptoProvider,
  sc: CryptoProvider,
  opts: {
    suites?: SuiteId[];
    serverSuites?: SuiteId[];
    verifier?: EvidenceVerifier;
    required?: EvidenceKind[];
  } = {},
): Promise<Pair> {
  const client = new ClientHandshake({
    crypto: cc,
    verifier: opts.verifier ?? bindingVerifier,
    requiredEvidence: opts.required ?? ['sev-snp'],
    suites: opts.suites,
  });
  const server = new ServerHandshake({
    crypto: sc,
    collectEvidence: fakeEvidence(),
    serverInfo: enc.encode('info'),
    suites: opts.serverSuites,
  });
  const sh = await server.onClientHello(client.clientHello());
  const { clientFinished, session } = await client.onServerHello(sh);
  return { client: session, server: server.onClientFinished(clientFinished) };
}

describe('handshake', () => {
  for (const [cc, sc] of [
    [nodeProvider, nodeProvider],
    [nobleProvider, nobleProvider],
    [nodeProvider, nobleProvider],
    [nobleProvider, nodeProvider],
  ] as [CryptoProvider, CryptoProvider][]) {
    test(`${cc.name} client ↔ ${sc.name} server: both sides agree and the channel works`, async () => {
      const { client, server } = await handshake(cc, sc);
      assert.equal(hex(client.transcriptHash), hex(server.transcriptHash));
      assert.equal(hex(client.binding.cpuReportData), hex(server.binding.cpuReportData));
      assert.equal(client.binding.cpuReportData.length, 64);
      assert.equal(client.binding.gpuNonce.length, 32);
      assert.equal(client.verdict?.ok, true);
      assert.equal(new TextDecoder().decode(client.serverInfo), 'info');
      assert.equal(client.evidence.length, 2);
      assert.equal(client.suite, SUITE_AES_256_GCM);
      const f = client.channel.seal(enc.encode('hello'));
      assert.equal(new TextDecoder().decode(server.channel.open(f)), 'hello');
      const g = server.channel.seal(enc.encode('world'));
      assert.equal(new TextDecoder().decode(client.channel.open(g)), 'world');
    });
  }

  test('suite negotiation: server preference among the offered suites', async () => {
    const a = await handshake(nodeProvider, nodeProvider, { suites: [SUITE_CHACHA20_POLY1305] });
    assert.equal(a.client.suite, SUITE_CHACHA20_POLY1305);
    assert.equal(a.client.channel.aeadAlg, 'chacha20-poly1305');
    const b = await handshake(nodeProvider, nodeProvider, {
      suites: [SUITE_CHACHA20_POLY1305, SUITE_AES_256_GCM],
      serverSuites: [SUITE_AES_256_GCM],
    });
    assert.equal(b.server.suite, SUITE_AES_256_GCM);
    const c = new ClientHandshake({
      crypto: nodeProvider,
      verifier: bindingVerifier,
      requiredEvidence: [],
      suites: [SUITE_CHACHA20_POLY1305],
    });
    const s = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: fakeEvidence(),
      serverInfo: new Uint8Array(),
      suites: [SUITE_AES_256_GCM],
    });
    assert.equal(await errCode(s.onClientHello(c.clientHello())), 'malformed');
  });

  test('binding values are SHA-512/SHA-256 over distinct labels and th', () => {
    const th = new Uint8Array(32).fill(3);
    const cpu = cpuReportData(nodeProvider, th);
    const gpu = gpuNonce(nodeProvider, th);
    const label = (s: string) => Buffer.concat([Buffer.from(s, 'ascii'), th]);
    assert.equal(hex(cpu), hex(nodeProvider.hash('SHA-512', label('teechat/v1 cpu report_data'))));
    assert.equal(hex(gpu), hex(nodeProvider.hash('SHA-256', label('teechat/v1 gpu nonce'))));
    assert.equal(hex(cpu), hex(cpuReportData(nobleProvider, th)));
  });

  test('the server is asked for evidence bound to the binding values the client verifies', async () => {
    let seen: BindingValues | undefined;
    let verified: BindingValues | undefined;
    const client = new ClientHandshake({
      crypto: nodeProvider,
      verifier: async (items, b) => {
        verified = b;
        return bindingVerifier(items, b);
      },
      requiredEvidence: ['sev-snp', 'nvidia-gpu'],
    });
    const server = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: async (b, req) => {
        seen = b;
        assert.deepEqual(req, ['sev-snp', 'nvidia-gpu']);
        return fakeEvidence()(b, req);
      },
      serverInfo: new Uint8Array(),
    });
    const { session } = await client.onServerHello(
      await server.onClientHello(client.clientHello()),
    );
    assert.ok(seen && verified);
    assert.equal(hex(seen.cpuReportData), hex(verified.cpuReportData));
    assert.equal(hex(seen.gpuNonce), hex(verified.gpuNonce));
    assert.equal(hex(session.binding.gpuNonce), hex(seen.gpuNonce));
  });

  test('evidence_rejected: no keys are derived and no channel exists', async () => {
    let x25519Calls = 0;
    let decaps = 0;
    const spy: CryptoProvider = {
      ...nodeProvider,
      x25519: (a, b) => {
        x25519Calls++;
        return nodeProvider.x25519(a, b);
      },
      mlkem768: {
        ...nodeProvider.mlkem768,
        decapsulate: (c, s) => (decaps++, nodeProvider.mlkem768.decapsulate(c, s)),
      },
    };
    const client = new ClientHandshake({
      crypto: spy,
      verifier: async () => ({
        ok: false,
        reports: [],
        summary: 'policy.debug: expected false, got true',
      }),
      requiredEvidence: ['sev-snp'],
    });
    const server = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: fakeEvidence(),
      serverInfo: new Uint8Array(),
    });
    const sh = await server.onClientHello(client.clientHello());
    const before = x25519Calls; // the key pair generation used x25519 once
    await assert.rejects(
      client.onServerHello(sh),
      (e: unknown) =>
        e instanceof ProtocolError &&
        e.code === 'evidence_rejected' &&
        /policy\.debug/.test(e.message),
    );
    assert.equal(x25519Calls, before, 'no X25519 agreement after a rejected verdict');
    assert.equal(decaps, 0, 'no ML-KEM decapsulation after a rejected verdict');
    assert.equal(client.state, 'failed');
    // and the handshake object cannot be retried into a channel
    assert.equal(await errCode(client.onServerHello(sh)), 'handshake_state');
  });

  test('a verifier that throws is evidence_rejected too; a binding mismatch is rejected', async () => {
    const thrower = await errCode(
      handshake(nodeProvider, nodeProvider, {
        verifier: async () => {
          throw new Error('boom');
        },
      }),
    );
    assert.equal(thrower, 'evidence_rejected');
    // evidence bound to a different transcript (a replayed report) fails the binding verifier
    const client = new ClientHandshake({
      crypto: nodeProvider,
      verifier: bindingVerifier,
      requiredEvidence: ['sev-snp'],
    });
    const stale = await fakeEvidence()(
      { cpuReportData: new Uint8Array(64), gpuNonce: new Uint8Array(32) },
      [],
    );
    const server = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: async () => stale,
      serverInfo: new Uint8Array(),
    });
    assert.equal(
      await errCode(client.onServerHello(await server.onClientHello(client.clientHello()))),
      'evidence_rejected',
    );
  });

  test('evidence_missing: client requires a kind the bundle lacks (before the verifier runs)', async () => {
    let called = false;
    const client = new ClientHandshake({
      crypto: nodeProvider,
      verifier: async (i, b) => ((called = true), bindingVerifier(i, b)),
      requiredEvidence: ['tdx'],
    });
    // a server that ignores the requirement (its own check is bypassed by a lying collector)
    const server = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: fakeEvidence(),
      serverInfo: new Uint8Array(),
    });
    assert.equal(await errCode(server.onClientHello(client.clientHello())), 'evidence_missing');
    // craft: server that is honest about requirements but client demands more than sent
    const c2 = new ClientHandshake({
      crypto: nodeProvider,
      verifier: bindingVerifier,
      requiredEvidence: ['tdx'],
    });
    const ch = c2.clientHello();
    const patched = Buffer.from(ch);
    // find "tdx" requirement and rewrite the server's view to require nothing: drop the required list
    const noReq = Buffer.concat([patched.subarray(0, patched.length - 5), Buffer.from([0])]);
    const s2 = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: fakeEvidence(),
      serverInfo: new Uint8Array(),
    });
    const sh = await s2.onClientHello(new Uint8Array(noReq));
    assert.equal(await errCode(c2.onServerHello(sh)), 'evidence_missing');
    assert.equal(called, false);
  });

  test('a modified ClientHello in flight is detected by key confirmation (transcript mismatch)', async () => {
    const client = new ClientHandshake({
      crypto: nodeProvider,
      verifier: bindingVerifier,
      requiredEvidence: [],
    });
    const ch = client.clientHello();
    const tampered = ch.slice();
    tampered[ch.length - 2] = (tampered[ch.length - 2] as number) ^ 1; // inside client_random
    const server = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: fakeEvidence(),
      serverInfo: new Uint8Array(),
    });
    const sh = await server.onClientHello(tampered);
    // evidence is bound to the tampered transcript, so the binding verifier already refuses
    assert.equal(await errCode(client.onServerHello(sh)), 'evidence_rejected');
    // with an accept-all verifier the key confirmation still catches it
    const c2 = new ClientHandshake({
      crypto: nodeProvider,
      verifier: async () => ({ ok: true, reports: [], summary: '' }),
      requiredEvidence: [],
    });
    const ch2 = c2.clientHello();
    const t2 = ch2.slice();
    t2[ch2.length - 2] = (t2[ch2.length - 2] as number) ^ 1;
    const s2 = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: fakeEvidence(),
      serverInfo: new Uint8Array(),
    });
    assert.equal(
      await errCode(c2.onServerHello(await s2.onClientHello(t2))),
      'key_confirmation_failed',
    );
  });

  test('modified ServerHello bytes never yield a session', async () => {
    const acceptAll: EvidenceVerifier = async () => ({ ok: true, reports: [], summary: '' });
    const positions = [3, 10, 40, 1130, 1160, -40, -1]; // suite, x25519, ML-KEM ct, random, info, bundle, finished
    for (const pos of positions) {
      const client = new ClientHandshake({
        crypto: nodeProvider,
        verifier: acceptAll,
        requiredEvidence: [],
      });
      const server = new ServerHandshake({
        crypto: nodeProvider,
        collectEvidence: fakeEvidence(),
        serverInfo: enc.encode('info'),
      });
      const sh = await server.onClientHello(client.clientHello());
      const i = pos < 0 ? sh.length + pos : pos;
      sh[i] = (sh[i] as number) ^ 0x40;
      const code = await errCode(client.onServerHello(sh));
      assert.ok(
        [
          'key_confirmation_failed',
          'malformed',
          'bad_key',
          'too_large',
          'truncated',
          'version_mismatch',
        ].includes(code),
        `byte ${i}: ${code}`,
      );
    }
  });

  test('a wrong ClientFinished is refused and leaves no channel', async () => {
    const client = new ClientHandshake({
      crypto: nodeProvider,
      verifier: bindingVerifier,
      requiredEvidence: [],
    });
    const server = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: fakeEvidence(),
      serverInfo: new Uint8Array(),
    });
    const { clientFinished } = await client.onServerHello(
      await server.onClientHello(client.clientHello()),
    );
    const bad = clientFinished.slice();
    bad[5] = (bad[5] as number) ^ 1;
    assert.equal(await errCode(() => server.onClientFinished(bad)), 'key_confirmation_failed');
    assert.equal(await errCode(() => server.onClientFinished(clientFinished)), 'handshake_state');
  });

  test('state machine: out-of-order calls are handshake_state', async () => {
    const client = new ClientHandshake({
      crypto: nodeProvider,
      verifier: bindingVerifier,
      requiredEvidence: [],
    });
    assert.equal(await errCode(client.onServerHello(new Uint8Array(10))), 'handshake_state');
    client.clientHello();
    assert.equal(await errCode(() => client.clientHello()), 'handshake_state');
    const server = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: fakeEvidence(),
      serverInfo: new Uint8Array(),
    });
    assert.equal(
      await errCode(() => server.onClientFinished(new Uint8Array(33))),
      'handshake_state',
    );
  });

  test('version negotiation: a client offering only unknown versions is refused', async () => {
    const client = new ClientHandshake({
      crypto: nodeProvider,
      verifier: bindingVerifier,
      requiredEvidence: [],
    });
    const ch = client.clientHello();
    ch[2] = 0;
    ch[3] = 9; // versions[0] = 9
    const server = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: fakeEvidence(),
      serverInfo: new Uint8Array(),
    });
    assert.equal(await errCode(server.onClientHello(ch)), 'version_mismatch');
  });

  test('a low-order client X25519 key is refused by the server (bad_key)', async () => {
    const client = new ClientHandshake({
      crypto: nodeProvider,
      verifier: bindingVerifier,
      requiredEvidence: [],
    });
    const ch = client.clientHello();
    const off = 1 + 1 + 2 + 1 + 4; // type, count, version, count, two suites
    ch.fill(0, off, off + 32);
    const server = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: fakeEvidence(),
      serverInfo: new Uint8Array(),
    });
    assert.equal(await errCode(server.onClientHello(ch)), 'bad_key');
  });

  test('200 handshakes in a row complete (Node 20 key-export hang pitfall)', async () => {
    for (let i = 0; i < 200; i++) {
      const { client, server } = await handshake(nodeProvider, nodeProvider);
      assert.equal(hex(client.transcriptHash), hex(server.transcriptHash));
    }
  });
});
