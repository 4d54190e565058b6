/**
 * Generates the protocol's own deterministic test vectors:
 *   test/vectors/handshake.json — full handshakes (all messages, intermediate hashes, keys)
 *   test/vectors/channel.json   — channel frames over a handshake's keys, across key updates and close
 * Randomness is injected from a labelled SHA-256 counter DRBG, so the output is a pure function of
 * the code. test/unit/protocol-vectors.test.ts re-derives both files byte-exactly with BOTH crypto
 * providers.
 *
 * Usage: node --import tsx scripts/gen-vectors.ts [--check]
 *   --check  exit 1 if the checked-in files differ from a fresh derivation (nothing is written)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { EvidenceItem, EvidenceKind } from '../protocol/attestation/types';
import type { CryptoProvider } from '../protocol/crypto/provider';
import { ClientHandshake, ServerHandshake } from '../protocol/handshake/handshake';
import {
  bindingValues,
  clientFinishedMac,
  deriveKeys,
  LABELS,
  serverFinishedMac,
  transcriptHash,
} from '../protocol/handshake/keys';
import {
  decodeServerHello,
  SUITE_AES_256_GCM,
  SUITE_CHACHA20_POLY1305,
} from '../protocol/handshake/messages';
import type { SuiteId } from '../protocol/handshake/messages';
import { DEFAULT_LIMITS } from '../protocol/limits';
import { concat, toHex, utf8Encode } from '../protocol/wire/bytes';
import { encodeAppMessage } from '../protocol/messages/messages';

/** Deterministic randomness: block i = SHA-256(label ‖ u32 BE i); draws are logged. */
export function drbg(
  crypto: CryptoProvider,
  label: string,
  log: string[],
): (n: number) => Uint8Array {
  let counter = 0;
  let pool: Uint8Array = new Uint8Array(0);
  return (n: number) => {
    while (pool.length < n) {
      const c = Uint8Array.of(
        counter >>> 24,
        (counter >>> 16) & 0xff,
        (counter >>> 8) & 0xff,
        counter & 0xff,
      );
      pool = concat(pool, crypto.hash('SHA-256', concat(utf8Encode(label), c)));
      counter++;
    }
    const out = pool.slice(0, n);
    pool = pool.slice(n);
    log.push(toHex(out));
    return out;
  };
}

interface CaseSpec {
  name: string;
  suites: SuiteId[];
  required: EvidenceKind[];
  serverInfo: string;
  evidenceKinds: EvidenceKind[];
}

const CASES: CaseSpec[] = [
  {
    name: 'aes-gcm, SEV-SNP + GPU evidence',
    suites: [SUITE_AES_256_GCM, SUITE_CHACHA20_POLY1305],
    required: ['sev-snp', 'nvidia-gpu'],
    serverInfo: 'server-info-v1',
    evidenceKinds: ['sev-snp', 'nvidia-gpu'],
  },
  {
    name: 'chacha20-poly1305, no evidence required, empty bundle',
    suites: [SUITE_CHACHA20_POLY1305],
    required: [],
    serverInfo: '',
    evidenceKinds: [],
  },
];

function evidenceFor(
  kinds: readonly EvidenceKind[],
  b: { cpuReportData: Uint8Array; gpuNonce: Uint8Array },
): EvidenceItem[] {
  return kinds.map((kind) => ({
    kind,
    label: kind === 'nvidia-gpu' ? 'gpu0' : '',
    parts: new Map([
      ['chain', utf8Encode(`test chain for ${kind}`)],
      ['report', kind === 'nvidia-gpu' ? b.gpuNonce : b.cpuReportData],
    ]),
  }));
}

export interface Vectors {
  handshake: unknown;
  channel: unknown;
}

export async function deriveVectors(crypto: CryptoProvider): Promise<Vectors> {
  const handshakes: unknown[] = [];
  const channels: unknown[] = [];
  for (const spec of CASES) {
    const clientDraws: string[] = [];
    const serverDraws: string[] = [];
    const limits = { rekeyAfterFrames: 3 };
    const client = new ClientHandshake({
      crypto,
      verifier: async () => ({ ok: true, reports: [], summary: 'vector' }),
      requiredEvidence: spec.required,
      suites: spec.suites,
      random: drbg(crypto, `teechat vectors/${spec.name}/client`, clientDraws),
      limits,
    });
    const server = new ServerHandshake({
      crypto,
      collectEvidence: async (b) => evidenceFor(spec.evidenceKinds, b),
      serverInfo: utf8Encode(spec.serverInfo),
      random: drbg(crypto, `teechat vectors/${spec.name}/server`, serverDraws),
      limits,
    });
    const ch = client.clientHello();
    const sh = await server.onClientHello(ch);
    const { clientFinished, session: cs } = await client.onServerHello(sh);
    const ss = server.onClientFinished(clientFinished);

    // Intermediate values, recomputed from the draws with the exported key-schedule functions.
    const parsed = decodeServerHello(sh, DEFAULT_LIMITS);
    const th = transcriptHash(crypto, ch, parsed.coreBytes);
    const thE = crypto.hash('SHA-256', concat(th, parsed.bundleBytes));
    const clientX = crypto.x25519KeyPair(hex(clientDraws[0]));
    const clientKem = crypto.mlkem768.keygen(hex(clientDraws[1]));
    const xs = crypto.x25519(clientX.secretKey, parsed.x25519Pub);
    const ms = crypto.mlkem768.decapsulate(parsed.mlkemCiphertext, clientKem.secretKey);
    const keys = deriveKeys(crypto, xs, ms, thE);
    const sf = serverFinishedMac(crypto, keys.serverFinishedKey, thE);
    const thS = crypto.hash('SHA-256', concat(thE, sf));
    const cf = clientFinishedMac(crypto, keys.clientFinishedKey, thS);
    const binding = bindingValues(crypto, th);

    handshakes.push({
      name: spec.name,
      client_random_draws: clientDraws,
      server_random_draws: serverDraws,
      required_evidence: spec.required,
      offered_suites: spec.suites,
      server_info_utf8: spec.serverInfo,
      client_hello: toHex(ch),
      server_hello: toHex(sh),
      client_finished: toHex(clientFinished),
      server_hello_core_length: parsed.coreBytes.length,
      th: toHex(th),
      cpu_report_data: toHex(binding.cpuReportData),
      gpu_nonce: toHex(binding.gpuNonce),
      th_e: toHex(thE),
      x25519_shared: toHex(xs),
      mlkem768_shared: toHex(ms),
      key_c2s: toHex(keys.c2s),
      key_s2c: toHex(keys.s2c),
      key_server_finished: toHex(keys.serverFinishedKey),
      key_client_finished: toHex(keys.clientFinishedKey),
      server_finished: toHex(sf),
      th_s: toHex(thS),
      client_finished_mac: toHex(cf),
      transcript_hash: toHex(cs.transcriptHash),
      server_transcript_hash: toHex(ss.transcriptHash),
    });

    // Channel: messages both ways over the session, rekey every 3 frames, then close from both sides.
    const frames: unknown[] = [];
    const msgs: [string, Uint8Array][] = [
      [
        'client',
        encodeAppMessage({
          type: 'chat_request',
          id: 'r1',
          messages: [{ role: 'user', content: 'Hi' }],
          params: { maxTokens: 8 },
        }),
      ],
      ['server', encodeAppMessage({ type: 'delta', id: 'r1', seq: 0, text: 'Hello' })],
      ['server', encodeAppMessage({ type: 'delta', id: 'r1', seq: 1, text: '!' })],
      ['server', new Uint8Array(300).fill(0x61)],
      [
        'server',
        encodeAppMessage({
          type: 'done',
          id: 'r1',
          finishReason: 'stop',
          usage: { promptTokens: 1, completionTokens: 2, cachedPromptTokens: 0 },
          timings: { ttftMs: 1, totalMs: 2, tokensPerSecond: 1000 },
        }),
      ],
      ['client', encodeAppMessage({ type: 'ping', nonce: 7 })],
      ['client', new Uint8Array(0)],
      ['client', new Uint8Array(1500).fill(0x62)],
    ];
    for (const [from, pt] of msgs) {
      const ch0 = from === 'client' ? cs.channel : ss.channel;
      const epoch = ch0.sendEpoch;
      const f = ch0.seal(pt);
      frames.push({ from, kind: 'data', epoch, plaintext: toHex(pt), frame: toHex(f) });
    }
    frames.push({
      from: 'client',
      kind: 'close',
      epoch: cs.channel.sendEpoch,
      plaintext: '',
      frame: toHex(cs.channel.close()),
    });
    frames.push({
      from: 'server',
      kind: 'close',
      epoch: ss.channel.sendEpoch,
      plaintext: '',
      frame: toHex(ss.channel.close()),
    });
    channels.push({
      name: spec.name,
      aead: cs.channel.aeadAlg,
      rekey_after_frames: limits.rekeyAfterFrames,
      key_c2s: toHex(keys.c2s),
      key_s2c: toHex(keys.s2c),
      frames,
    });
  }
  const meta = {
    description:
      'Generated by scripts/gen-vectors.ts; re-derived byte-exactly by test/unit/protocol-vectors.test.ts. See docs/PROTOCOL.md.',
    labels: LABELS,
  };
  return { handshake: { ...meta, cases: handshakes }, channel: { ...meta, cases: channels } };
}

function hex(s: string | undefined): Uint8Array {
  return new Uint8Array(Buffer.from(s ?? '', 'hex'));
}

export const VECTOR_DIR = join(
  fileURLToPath(new URL('.', import.meta.url)),
  '..',
  'test',
  'vectors',
);

export function serialize(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}

async function main(): Promise<void> {
  const { nobleProvider } = await import('../protocol/crypto/noble');
  const v = await deriveVectors(nobleProvider);
  const files: [string, unknown][] = [
    ['handshake.json', v.handshake],
    ['channel.json', v.channel],
  ];
  if (process.argv.includes('--check')) {
    let ok = true;
    for (const [name, data] of files) {
      if (readFileSync(join(VECTOR_DIR, name), 'utf8') !== serialize(data)) {
        console.error(`test/vectors/${name} differs from a fresh derivation`);
        ok = false;
      }
    }
    process.exit(ok ? 0 : 1);
  }
  for (const [name, data] of files) {
    writeFileSync(join(VECTOR_DIR, name), serialize(data));
    console.error(`wrote test/vectors/${name}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
