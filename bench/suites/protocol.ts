/**
 * Protocol benchmarks (issue 2 targets, Node provider): 262,144-byte seal and open ≤ 0.25 ms each,
 * one-token frame seal + open ≤ 10 µs, client + server handshake CPU ≤ 2 ms (no attestation).
 * Each figure is measured for the node (OpenSSL) and the noble (pure JS) provider, next to a
 * no-crypto baseline from the same run (copying the bytes into a padded frame buffer).
 */
import type { BenchOptions, Suite } from '../lib';
import { cpuMs, median, msPerOp, msPerOpAsync, msPerOpPrepared, round } from '../lib';
import { nobleProvider } from '../../protocol/crypto/noble';
import { nodeKem, nodeProvider } from '../../protocol-node/crypto-node';
import type { AeadAlg, CryptoProvider } from '../../protocol/crypto/provider';
import { FRAME_HEADER_LEN, SecureChannel } from '../../protocol/channel/channel';
import { paddedLength, writePadded } from '../../protocol/channel/padding';
import { ClientHandshake, ServerHandshake } from '../../protocol/handshake/handshake';
import { ClientEphemeralKeys } from '../../protocol/handshake/ephemeral';
import { encodeAppMessage } from '../../protocol/messages/messages';

const BIG = 262_144;
export const TARGETS = {
  seal_262k_ms: 0.25,
  open_262k_ms: 0.25,
  frame_overhead_us: 10,
  handshake_cpu_ms: 2,
} as const;

function channelPair(crypto: CryptoProvider, aead: AeadAlg) {
  const a = crypto.randomBytes(32);
  const b = crypto.randomBytes(32);
  return {
    tx: new SecureChannel({
      crypto,
      aead,
      role: 'client',
      sendKey: a,
      recvKey: b,
      limits: { rekeyAfterFrames: 1 << 20 },
    }),
    rx: new SecureChannel({
      crypto,
      aead,
      role: 'server',
      sendKey: b,
      recvKey: a,
      limits: { rekeyAfterFrames: 1 << 20 },
    }),
  };
}

/** What a channel without crypto would do: copy the plaintext into a padded frame buffer, and out again. */
function baselineFrame(pt: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_LEN + paddedLength(pt.length) + 16);
  writePadded(frame, FRAME_HEADER_LEN, pt);
  return frame.slice(FRAME_HEADER_LEN + 4, FRAME_HEADER_LEN + 4 + pt.length);
}

async function handshakeOnce(
  crypto: CryptoProvider,
  ephemeral?: ClientEphemeralKeys,
): Promise<void> {
  const client = new ClientHandshake({
    crypto,
    verifier: async () => ({ ok: true, reports: [], summary: '' }),
    requiredEvidence: [],
    ...(ephemeral ? { ephemeral } : {}),
  });
  const server = new ServerHandshake({
    crypto,
    collectEvidence: async () => [],
    serverInfo: new Uint8Array(64),
  });
  const sh = await server.onClientHello(client.clientHello());
  const { clientFinished } = await client.onServerHello(sh);
  server.onClientFinished(clientFinished);
}

/**
 * Handshake CPU on the critical path when the client's ephemeral key pairs were generated ahead
 * of time (ClientEphemeralPool): the pairs for each batch are generated outside the timed region.
 * Total CPU per session is this plus client_ephemeral_keygen_ms (reported separately).
 */
async function criticalPathMs(crypto: CryptoProvider, o: BenchOptions): Promise<number> {
  const batch = o.quick ? 10 : 40;
  const repeats = o.quick ? 5 : 11;
  for (let i = 0; i < 3; i++) await handshakeOnce(crypto, ClientEphemeralKeys.generate(crypto));
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const keys = Array.from({ length: batch }, () => ClientEphemeralKeys.generate(crypto));
    const t = cpuMs();
    for (const k of keys) await handshakeOnce(crypto, k);
    samples.push((cpuMs() - t) / batch);
  }
  return median(samples);
}

function providerFigures(crypto: CryptoProvider, aead: AeadAlg, o: BenchOptions) {
  const big = crypto.randomBytes(BIG);
  const token = encodeAppMessage({ type: 'delta', id: 'req-1', seq: 1, text: ' the' });
  const seal = (() => {
    const { tx } = channelPair(crypto, aead);
    return msPerOp(() => tx.seal(big), { quick: o.quick });
  })();
  const open = (() => {
    const { tx, rx } = channelPair(crypto, aead);
    return msPerOpPrepared(
      (n) => Array.from({ length: n }, () => tx.seal(big)),
      (f) => rx.open(f),
      { quick: o.quick, batch: o.quick ? 20 : 60 },
    );
  })();
  const frame = (() => {
    const { tx, rx } = channelPair(crypto, aead);
    return msPerOp(() => rx.open(tx.seal(token)), { quick: o.quick });
  })();
  const key = crypto.randomBytes(32);
  const nonce = crypto.randomBytes(12);
  const raw = crypto.aead(aead, key);
  const rawSeal = msPerOp(() => raw.seal(nonce, big, new Uint8Array(16)), { quick: o.quick });
  const small = new Uint8Array(256);
  const aad = new Uint8Array(16);
  const rawFrame = msPerOp(() => raw.open(nonce, raw.seal(nonce, small, aad), aad), {
    quick: o.quick,
  });
  return {
    seal_262k_ms: round(seal),
    open_262k_ms: round(open),
    frame_overhead_us: round(frame * 1000),
    raw_aead_seal_262k_ms: round(rawSeal),
    /** The AEAD alone on a 256-byte body (seal + open): the floor under frame_overhead_us. */
    raw_aead_256_seal_open_us: round(rawFrame * 1000),
  };
}

export const suite: Suite = {
  name: 'protocol',
  description:
    'secure channel seal/open, one-token frame, handshake CPU; node vs noble vs no-crypto baseline',
  async run(o: BenchOptions) {
    const big = nodeProvider.randomBytes(BIG);
    const token = encodeAppMessage({ type: 'delta', id: 'req-1', seq: 1, text: ' the' });
    const baseline = {
      copy_262k_ms: round(msPerOp(() => baselineFrame(big), { quick: o.quick })),
      frame_us: round(msPerOp(() => baselineFrame(token), { quick: o.quick }) * 1000),
    };
    const node = {
      ...providerFigures(nodeProvider, 'aes-256-gcm', o),
      handshake_cpu_ms: round(
        await msPerOpAsync(() => handshakeOnce(nodeProvider), {
          quick: o.quick,
          batch: o.quick ? 10 : 40,
        }),
      ),
      /** Client + server CPU with the client's key pairs pre-generated (not total CPU: add keygen). */
      handshake_critical_path_ms: round(await criticalPathMs(nodeProvider, o)),
      /** The part moved off the critical path: X25519 + ML-KEM-768 key generation (client). */
      client_ephemeral_keygen_ms: round(
        msPerOp(() => ClientEphemeralKeys.generate(nodeProvider), { quick: o.quick }),
      ),
    };
    const nodeChacha = providerFigures(nodeProvider, 'chacha20-poly1305', o);
    const noble = {
      ...providerFigures(nobleProvider, 'chacha20-poly1305', o),
      handshake_cpu_ms: round(
        await msPerOpAsync(() => handshakeOnce(nobleProvider), {
          quick: o.quick,
          batch: o.quick ? 5 : 20,
        }),
      ),
    };
    const kp = nodeProvider.mlkem768.keygen();
    const encap = nodeProvider.mlkem768.encapsulate(kp.publicKey);
    const xa = nodeProvider.x25519KeyPair();
    const xb = nodeProvider.x25519KeyPair().publicKey;
    const prim = {
      /** 1: OpenSSL's ML-KEM-768 (Node >= 24) for encapsulate/decapsulate; 0: pure JS (noble). */
      mlkem768_native: nodeKem() !== null ? 1 : 0,
      mlkem768_keygen_ms: round(msPerOp(() => nodeProvider.mlkem768.keygen(), { quick: o.quick })),
      mlkem768_encapsulate_ms: round(
        msPerOp(() => nodeProvider.mlkem768.encapsulate(kp.publicKey), { quick: o.quick }),
      ),
      mlkem768_decapsulate_ms: round(
        msPerOp(() => nodeProvider.mlkem768.decapsulate(encap.cipherText, kp.secretKey), {
          quick: o.quick,
        }),
      ),
      x25519_keypair_node_ms: round(
        msPerOp(() => nodeProvider.x25519KeyPair(), { quick: o.quick }),
      ),
      x25519_node_ms: round(
        msPerOp(() => nodeProvider.x25519(xa.secretKey, xb), { quick: o.quick }),
      ),
    };
    const mlkemTotal =
      prim.mlkem768_keygen_ms + prim.mlkem768_encapsulate_ms + prim.mlkem768_decapsulate_ms;
    const ratios = {
      node_seal_vs_copy: round(node.seal_262k_ms / baseline.copy_262k_ms, 3),
      node_open_vs_copy: round(node.open_262k_ms / baseline.copy_262k_ms, 3),
      node_frame_vs_copy: round(node.frame_overhead_us / baseline.frame_us, 3),
      noble_vs_node_seal: round(noble.seal_262k_ms / node.seal_262k_ms, 3),
      noble_vs_node_handshake: round(noble.handshake_cpu_ms / node.handshake_cpu_ms, 3),
      handshake_share_mlkem: round(mlkemTotal / node.handshake_cpu_ms, 3),
    };
    const targets: Record<string, { target: number; node: number; met: boolean; note?: string }> =
      Object.fromEntries(
        Object.entries(TARGETS).map(([k, limit]) => {
          const v = node[k as keyof typeof TARGETS];
          return [k, { target: limit, node: v, met: v <= limit }];
        }),
      );
    // Honest split: handshake_cpu_ms above is total CPU; this is the critical path only.
    targets.handshake_critical_path_ms = {
      target: TARGETS.handshake_cpu_ms,
      node: node.handshake_critical_path_ms,
      met: node.handshake_critical_path_ms <= TARGETS.handshake_cpu_ms,
      note: 'client key pairs pre-generated off the critical path; total CPU is handshake_cpu_ms',
    };
    return {
      baseline,
      'node (aes-256-gcm)': node,
      'node (chacha20-poly1305)': nodeChacha,
      'noble (chacha20-poly1305)': noble,
      primitives: prim,
      ratios,
      targets,
    };
  },
};
