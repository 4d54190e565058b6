/**
 * The fuzz targets: one per decoder that takes bytes from the network or from evidence.
 *
 * Each target names its decoder, builds its seeds (real vectors from ../shared/vectors when present,
 * messages built by the real encoders, evidence from the simulated SNP / NVIDIA providers) and a
 * dictionary of structural tokens, and runs one input. The oracle, checked by the engine:
 *  - the decoder returns or throws a ProtocolError — any other exception is a crash;
 *  - it returns within a bounded time (engine: per-input time limit; runner: watchdog for hangs);
 *  - target-specific invariants, thrown as `OracleViolation`:
 *    channel frames and handshake messages: a mutated input is never accepted (a frame that opens
 *    must be byte-identical to a genuinely sealed one; a handshake completes only with the genuine
 *    message); codecs with an encoder: a successful decode re-encodes to the same bytes
 *    (canonical, so no two encodings of one message).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { ProtocolError } from '../../protocol/errors';
import { DEFAULT_LIMITS } from '../../protocol/limits';
import type { EvidenceItem, EvidenceVerdict } from '../../protocol/attestation/types';
import { ClientHandshake, ServerHandshake } from '../../protocol/handshake/handshake';
import {
  decodeClientFinished,
  decodeClientHello,
  decodeServerHello,
  encodeClientFinished,
  encodeClientHello,
  SUITE_AES_256_GCM,
  SUITE_CHACHA20_POLY1305,
} from '../../protocol/handshake/messages';
import { decodeEvidenceBundle, encodeEvidenceBundle } from '../../protocol/handshake/evidence';
import { SecureChannel } from '../../protocol/channel/channel';
import type { AeadAlg } from '../../protocol/crypto/provider';
import { decodeAppMessage, encodeAppMessage } from '../../protocol/messages/messages';
import type { AppMessage } from '../../protocol/messages/messages';
import { parseSnpReport } from '../../protocol/attestation/snp/report';
import { parseTdxQuote } from '../../protocol/attestation/tdx/quote';
import { parseTdReport } from '../../protocol/attestation/tdx/tdreport';
import { parseTdxTcbInfo, parseQeIdentity } from '../../protocol/attestation/tdx/collateral';
import { parseCcel } from '../../protocol/attestation/tdx/ccel';
import { parseNvidiaReport, reportBytesFromInput } from '../../protocol/attestation/nvidia/spdm';
import { parseRim } from '../../protocol/attestation/nvidia/rim';
import { parseOcspResponse } from '../../protocol/attestation/nvidia/ocsp';
import { parseCertChain } from '../../protocol/attestation/nvidia/verify';
import { parseCertificate, pemBlocks } from '../../protocol/x509/index';
import { parseCrl } from '../../protocol/x509/crl';
import { parseXmlBytes } from '../../protocol/xml/parser';
import type { XmlElement } from '../../protocol/xml/parser';
import { c14n11 } from '../../protocol/xml/c14n';
import { parseEnvelopedSignature } from '../../protocol/xml/dsig';
import {
  generateSimulatedSnpChain,
  SimulatedSnpProvider,
} from '../../enclave-server/evidence/simulated-snp';
import { SimulatedNvidiaProvider } from '../../enclave-server/evidence/simulated-nvidia';
import {
  buildOcspRequest,
  freshCachedOcsp,
  ocspCacheFile,
} from '../../enclave-server/evidence/collateral';
import { freshTdxCollateral, tdxCollateralProblem } from '../../enclave-server/evidence/tdx';
import { tdxCollateralPartName } from '../../protocol/attestation/tdx/parts';
import { publicKeyBits } from '../../protocol/attestation/nvidia/ocsp';
import { children, parseDer, readIntegerBytes } from '../../protocol/asn1/der';
import type { Certificate } from '../../protocol/x509/index';
import { parseHclReport, HCL } from '../../protocol/attestation/azure/hcl';
import { parseTpmQuote } from '../../protocol/attestation/azure/tpm';
import { azureEvidenceFromJson } from '../../protocol/attestation/azure/evidence-json';
import { sharedPath } from '../helpers/shared';
import fc from 'fast-check';
import { ascii, inputArb } from './mutate';
import type { FuzzInput, InputSpace } from './mutate';
import { xmlDocumentArb } from './xml-gen';

/** A target invariant that does not hold (a real finding, like a crash). */
export class OracleViolation extends Error {
  override readonly name = 'OracleViolation';
}

export interface FuzzTarget extends InputSpace {
  readonly name: string;
  /** What is decoded and which invariants are checked. */
  readonly description: string;
  /** Where the seeds came from, e.g. "12 vectors + 1 simulated". */
  readonly seedSources: string;
  /** A target-specific generator (default: random bytes + mutations of the seeds, mutate.ts). */
  readonly arbitrary?: fc.Arbitrary<FuzzInput>;
  /** Runs one input: returns normally or throws ProtocolError; anything else is a finding. */
  run(bytes: Uint8Array): void | Promise<void>;
  readonly async: boolean;
}

export const TARGET_NAMES = [
  'client-hello',
  'server-hello',
  'client-finished',
  'handshake-client',
  'handshake-server',
  'evidence-bundle',
  'channel-frame',
  'channel-frame-chacha',
  'channel-sequence',
  'app-message',
  'snp-report',
  'azure-hcl',
  'azure-tpm-quote',
  'azure-evidence-json',
  'tdx-quote',
  'tdx-tcbinfo',
  'tdx-qe-identity',
  'tdx-ccel',
  'nvidia-spdm',
  'x509-der',
  'x509-pem',
  'x509-crl',
  'ocsp',
  'ocsp-request',
  'ocsp-cache',
  'tdx-collateral-cache',
  'rim-xml',
  'xml-c14n',
] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

const L = DEFAULT_LIMITS;
const crypto = nodeProvider;

const eq = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Runs a sub-decoder whose ProtocolError is an acceptable outcome; anything else propagates. */
function allowProtocolError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
  }
}

// ---------------------------------------------------------------- seed files

function vec(...parts: string[]): string | null {
  return sharedPath('vectors', ...parts);
}

/** All files under vectors/<dir> (recursively) whose name passes `keep`. */
function vectorFiles(dir: string, keep: (name: string) => boolean): string[] {
  const root = vec(dir);
  if (root === null) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (keep(e.name)) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

const read = (p: string): Uint8Array => new Uint8Array(readFileSync(p)) as Uint8Array;
const readHexFile = (p: string): Uint8Array =>
  new Uint8Array(Buffer.from(readFileSync(p, 'utf8').replace(/\s+/g, ''), 'hex'));

function allPemText(): string[] {
  return vectorFiles('', (n) => /\.(pem|txt)$/.test(n) || n.endsWith('certchain.pem'))
    .map((p) => readFileSync(p, 'latin1'))
    .filter((t) => t.includes('-----BEGIN CERTIFICATE-----'));
}

function allCertDer(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const t of allPemText()) {
    try {
      out.push(...pemBlocks(t));
    } catch {
      // not every .txt is well-formed PEM; the real parsers decide (that is what is fuzzed)
    }
  }
  for (const p of vectorFiles('', (n) => /\.(der|testcer)$/.test(n))) {
    const b = read(p);
    if (b[0] === 0x30 && !p.includes('crl')) out.push(b);
  }
  return dedupe(out);
}

function dedupe(xs: Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    const k = `${x.length}:${hex(x.subarray(0, 64))}:${hex(x.subarray(-64))}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** A part (e.g. `hcl`, `tpm_quote`) from every Azure evidence JSON vector. */
function azureJsonParts(name: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of vectorFiles('', (n) => /evidence.*\.json$/.test(n) && !n.includes('parse'))) {
    try {
      const b = azureEvidenceFromJson(JSON.parse(readFileSync(p, 'utf8'))).get(name);
      if (b) out.push(b);
    } catch {
      // a document the adapter refuses is still a seed for azure-evidence-json
    }
  }
  return out;
}

// ---------------------------------------------------------------- simulated evidence

interface Simulated {
  readonly snp: EvidenceItem;
  readonly gpu: EvidenceItem;
}

let simulated: Promise<Simulated> | undefined;
function simulatedEvidence(): Promise<Simulated> {
  simulated ??= (async () => {
    const binding = {
      cpuReportData: crypto.hash('SHA-512', ascii('fuzz seed')),
      gpuNonce: crypto.hash('SHA-256', ascii('fuzz seed')),
    };
    const chain = await generateSimulatedSnpChain({ rsaBits: 2048 });
    const [snp] = await new SimulatedSnpProvider(chain).collect(binding);
    const [gpu] = await new SimulatedNvidiaProvider().collect(binding);
    if (!snp || !gpu) throw new Error('simulated providers returned no evidence');
    return { snp, gpu };
  })();
  return simulated;
}

const part = (item: EvidenceItem, name: string): Uint8Array[] => {
  const p = item.parts.get(name);
  return p ? [p] : [];
};

// ---------------------------------------------------------------- dictionaries

const DER_TOKENS: readonly Uint8Array[] = [
  [0x30, 0x80],
  [0x30, 0x00],
  [0x30, 0x81, 0xff],
  [0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
  [0x02, 0x00],
  [0x02, 0x01, 0x00],
  [0x02, 0x02, 0x00, 0x80],
  [0x03, 0x01, 0x08],
  [0x03, 0x00],
  [0x04, 0x82, 0x00, 0x00],
  [0x05, 0x00],
  [0x06, 0x00],
  [0x06, 0x03, 0x2b, 0x06, 0x80],
  [0x17, 0x0d],
  [0x18, 0x0f],
  [0xa0, 0x03, 0x02, 0x01, 0x02],
  [0xa3, 0x00],
  [0x0c, 0x02, 0xc3, 0x28],
  [0x1f, 0xff, 0xff, 0xff, 0x7f],
].map((t) => Uint8Array.from(t));

const XML_TOKENS: readonly Uint8Array[] = [
  '<',
  '>',
  '</',
  '/>',
  '<!--',
  '-->',
  '<![CDATA[',
  ']]>',
  '<?xml version="1.0"?>',
  '<!DOCTYPE x [<!ENTITY a "b">]>',
  '&amp;',
  '&lt;',
  '&#x0;',
  '&#xD800;',
  '&#65;',
  '&a;',
  '"',
  "'",
  '=',
  ' xmlns="urn:x"',
  ' xmlns:ds="http://www.w3.org/2000/09/xmldsig#"',
  ' xmlns:p=""',
  'xml:',
  'ds:',
  ' active="True"',
  ' index="4294967296"',
  ' alternatives="99999"',
  '\r\n',
  '\uFEFF',
  '\uD7FF',
].map(ascii);

const JSON_TOKENS: readonly Uint8Array[] = [
  '{',
  '}',
  '[',
  ']',
  '"',
  ':',
  ',',
  'null',
  'true',
  '-0',
  '1e400',
  '"\\u0000"',
  '"\\ud800"',
  '\\',
  '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
  '"tcbInfo":',
  '"enclaveIdentity":',
  '"signature":"',
  '"tcbLevels":[',
].map(ascii);

const PEM_TOKENS: readonly Uint8Array[] = [
  '-----BEGIN CERTIFICATE-----\n',
  '-----END CERTIFICATE-----\n',
  '-----BEGIN X509 CRL-----',
  '====',
  '\r\n',
  'MIIB',
  '*',
].map(ascii);

const BIN_TOKENS: readonly Uint8Array[] = [
  [0x11, 0xe0, 0x01, 0xff],
  [0x11, 0x60],
  [0xff, 0xff, 0xff, 0xff],
  [0x00, 0x00, 0x00, 0x00],
  [0x81, 0x00, 0x00, 0x00],
  [0x02, 0x00, 0x81, 0x00, 0x00, 0x00],
  [0x05, 0x00],
  [0x06, 0x00],
].map((t) => Uint8Array.from(t));

// ---------------------------------------------------------------- handshake

const FIXED = (tag: number) => {
  let ctr = 0;
  return (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const block = crypto.hash('SHA-256', Uint8Array.of(tag, ctr >> 8, ctr & 0xff));
      ctr++;
      out.set(block.subarray(0, Math.min(32, n - filled)), filled);
      filled += 32;
    }
    return out;
  };
};

const okVerdict: EvidenceVerdict = { ok: true, reports: [], summary: 'fuzz: accepted' };

interface HandshakeSeeds {
  readonly clientHello: Uint8Array;
  readonly serverHello: Uint8Array;
  readonly clientFinished: Uint8Array;
  readonly items: EvidenceItem[];
}

/** One full, deterministic handshake (fixed randomness) carrying the given evidence. */
async function handshakeSeeds(items: EvidenceItem[]): Promise<HandshakeSeeds> {
  const client = new ClientHandshake({
    crypto,
    verifier: async () => okVerdict,
    requiredEvidence: [],
    random: FIXED(1),
  });
  const server = new ServerHandshake({
    crypto,
    collectEvidence: async () => items,
    serverInfo: ascii('fuzz server info'),
    random: FIXED(2),
  });
  const clientHello = client.clientHello();
  const serverHello = await server.onClientHello(clientHello);
  const { clientFinished } = await client.onServerHello(serverHello);
  server.onClientFinished(clientFinished);
  return { clientHello, serverHello, clientFinished, items };
}

function sampleItems(sim: Simulated | null): EvidenceItem[] {
  const items: EvidenceItem[] = [
    {
      kind: 'tdx',
      label: 'cpu',
      parts: new Map([
        ['quote', new Uint8Array(64).fill(7)],
        ['tcb-info', ascii('{"tcbInfo":{}}')],
      ]),
    },
  ];
  if (sim) items.push(sim.snp, sim.gpu);
  return items;
}

// ---------------------------------------------------------------- channel

const CHANNEL_KEY = new Uint8Array(32).fill(0x42);
const CHANNEL_PLAINTEXTS = [0, 1, 17, 240, 252, 253, 1000, 4092, 4093, 20000].map((n) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff),
);

function sender(alg: AeadAlg, rekeyAfterFrames = 1 << 16): SecureChannel {
  return new SecureChannel({
    crypto,
    aead: alg,
    role: 'client',
    sendKey: CHANNEL_KEY,
    recvKey: new Uint8Array(32).fill(0x24),
    limits: { rekeyAfterFrames },
  });
}

function receiver(alg: AeadAlg): SecureChannel {
  return new SecureChannel({
    crypto,
    aead: alg,
    role: 'server',
    sendKey: new Uint8Array(32).fill(0x24),
    recvKey: CHANNEL_KEY,
    limits: { maxFramePlaintext: 1 << 20 },
  });
}

/** Genuine first frames (seq 0) of fresh channels: data of several sizes, close, key update. */
function firstFrames(alg: AeadAlg): Uint8Array[] {
  const out = CHANNEL_PLAINTEXTS.map((p) => sender(alg).seal(p));
  out.push(sender(alg).close());
  out.push(sender(alg, 1).seal(ascii('key update')));
  return out;
}

function frameTarget(name: string, alg: AeadAlg): FuzzTarget {
  const seeds = firstFrames(alg);
  return {
    name,
    description: `SecureChannel.openFrame (${alg}) on a fresh receiver; a frame that opens must be byte-identical to a genuine sealed frame`,
    seedSources: `${seeds.length} genuine frames`,
    seeds,
    dictionary: BIN_TOKENS,
    maxRandomLength: 1200,
    async: false,
    run(bytes) {
      const r = receiver(alg);
      try {
        r.openFrame(bytes);
      } finally {
        r.zeroize();
      }
      if (!seeds.some((s) => eq(s, bytes)))
        throw new OracleViolation(`a mutated frame (${bytes.length} bytes) opened`);
    },
  };
}

/**
 * channel-sequence: the input is a harness container (u8 count, then per frame u16 length-or-index)
 * describing a stream of frames built from 8 genuine frames of one sender (seq 0..7, a key update
 * after frame 3): 0x8000|i replays genuine frame i, otherwise the next `len` bytes are a raw frame.
 * The oracle: the k-th frame the receiver accepts is genuine frame k (so replays, reorders, gaps and
 * forgeries are always refused) and yields its exact plaintext.
 */
function sequenceTarget(): FuzzTarget {
  const alg: AeadAlg = 'aes-256-gcm';
  const s = new SecureChannel({
    crypto,
    aead: alg,
    role: 'client',
    sendKey: CHANNEL_KEY,
    recvKey: new Uint8Array(32).fill(0x24),
    limits: { rekeyAfterFrames: 4 },
  });
  const plains = Array.from({ length: 8 }, (_, i) => ascii(`frame ${i} `.repeat(i * 40 + 1)));
  const genuine = plains.map((p) => s.seal(p));
  const enc = (steps: (number | Uint8Array)[]): Uint8Array => {
    const parts: number[] = [steps.length];
    for (const st of steps) {
      if (typeof st === 'number') parts.push(0x80 | (st >> 8), st & 0xff);
      else parts.push(st.length >> 8, st.length & 0xff, ...st);
    }
    return Uint8Array.from(parts);
  };
  const seeds = [
    enc([0, 1, 2, 3, 4, 5, 6, 7]),
    enc([0, 1, 1, 2]),
    enc([0, 2, 1]),
    enc([1, 0]),
    enc([0, 1, 2, 3, 3, 4]),
    enc([0, 4, 5]),
    enc([0, genuine[1] as Uint8Array, 2]),
  ];
  return {
    name: 'channel-sequence',
    description:
      'a stream of genuine, replayed, reordered, dropped and raw frames into one receiver; accepted frames must be genuine frames 0,1,2,… in order with their exact plaintexts',
    seedSources: `${seeds.length} stream scripts over 8 genuine frames (key update after 4)`,
    seeds,
    dictionary: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => Uint8Array.of(0x80, i)),
    maxRandomLength: 64,
    async: false,
    run(bytes) {
      const r = receiver(alg);
      let accepted = 0;
      try {
        let off = 1;
        const count = bytes[0] ?? 0;
        for (let k = 0; k < count && off + 2 <= bytes.length; k++) {
          const hi = bytes[off] as number;
          const lo = bytes[off + 1] as number;
          off += 2;
          let frame: Uint8Array;
          if (hi & 0x80) {
            frame = genuine[(((hi & 0x7f) << 8) | lo) % genuine.length] as Uint8Array;
          } else {
            const len = (hi << 8) | lo;
            frame = bytes.subarray(off, off + len);
            off += len;
          }
          const got = r.openFrame(frame);
          const want = genuine[accepted];
          if (!want || !eq(frame, want))
            throw new OracleViolation(
              `frame accepted at position ${accepted} is not genuine frame ${accepted}`,
            );
          if (!eq(got.plaintext, plains[accepted] as Uint8Array))
            throw new OracleViolation(`plaintext of frame ${accepted} differs`);
          accepted++;
        }
      } finally {
        r.zeroize();
      }
    },
  };
}

// ---------------------------------------------------------------- application messages

function appMessages(): AppMessage[] {
  return [
    {
      type: 'chat_request',
      id: 'req-1',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Hello, wörld ✓' },
        { role: 'assistant', content: '' },
      ],
      params: { maxTokens: 64, temperature: 0.7, topP: 0.9, seed: 42, stop: ['\n\n', 'END'] },
    },
    { type: 'chat_request', id: 'r', messages: [{ role: 'user', content: 'x' }], params: {} },
    { type: 'delta', id: 'req-1', seq: 3, text: ' token' },
    {
      type: 'done',
      id: 'req-1',
      finishReason: 'length',
      usage: { promptTokens: 12, completionTokens: 64, cachedPromptTokens: 8 },
      timings: { ttftMs: 12.5, totalMs: 900.25, tokensPerSecond: 71.1 },
    },
    { type: 'error', id: 'req-1', code: 'model_error', message: 'the model failed' },
    { type: 'error', code: 'busy', message: 'all sequences busy' },
    { type: 'cancel', id: 'req-1' },
    { type: 'queued', id: 'req-2', position: 3 },
    { type: 'ping', nonce: 0xdeadbeef },
    { type: 'pong', nonce: 1 },
    {
      type: 'server_info',
      protocolVersion: 1,
      modelId: 'stories260K',
      modelSha256: 'ab'.repeat(32),
      engine: {
        backend: 'node-llama-cpp',
        gpu: 'none',
        flashAttention: false,
        sequences: 8,
        contextSize: 4096,
        threads: 2,
        extra: { vram_bytes: '0', 'gpu.name': 'none' },
      },
      limits: { max_request_bytes: 1048576, max_output_tokens: 2048 },
    },
  ];
}

// ---------------------------------------------------------------- registry

async function build(name: TargetName): Promise<FuzzTarget> {
  switch (name) {
    case 'client-hello': {
      const seeds = [
        new ClientHandshake({
          crypto,
          verifier: async () => okVerdict,
          requiredEvidence: [],
        }).clientHello(),
        new ClientHandshake({
          crypto,
          verifier: async () => okVerdict,
          requiredEvidence: ['sev-snp', 'nvidia-gpu', 'tdx'],
          suites: [SUITE_CHACHA20_POLY1305, SUITE_AES_256_GCM],
        }).clientHello(),
      ];
      const hello = decodeClientHello(seeds[0] as Uint8Array, L);
      seeds.push(encodeClientHello({ ...hello, versions: [1, 2, 0xffff] }, L));
      return {
        name,
        description: 'decodeClientHello; a decoded hello re-encodes to the same bytes',
        seedSources: `${seeds.length} built hellos`,
        seeds,
        dictionary: BIN_TOKENS.concat(
          ['sev-snp', 'azure-hcl', 'nvidia-gpu', 'nvidia-switch'].map(ascii),
        ),
        maxRandomLength: 1400,
        async: false,
        run(bytes) {
          const m = decodeClientHello(bytes, L);
          if (!eq(encodeClientHello(m, L), bytes))
            throw new OracleViolation('ClientHello decode/encode is not canonical');
        },
      };
    }
    case 'server-hello': {
      const sim = await simulatedEvidence();
      const hs = [await handshakeSeeds(sampleItems(sim)), await handshakeSeeds([])];
      const seeds = hs.map((h) => h.serverHello);
      return {
        name,
        description: 'decodeServerHello (core, evidence bundle, server_finished)',
        seedSources: `${seeds.length} ServerHellos from real handshakes (simulated SNP + NVIDIA evidence, empty bundle)`,
        seeds,
        dictionary: BIN_TOKENS,
        maxRandomLength: 1400,
        async: false,
        run(bytes) {
          decodeServerHello(bytes, L);
        },
      };
    }
    case 'client-finished': {
      const hs = await handshakeSeeds([]);
      return {
        name,
        description: 'decodeClientFinished; re-encodes to the same bytes',
        seedSources: '1 ClientFinished from a real handshake',
        seeds: [hs.clientFinished],
        dictionary: BIN_TOKENS,
        maxRandomLength: 80,
        async: false,
        run(bytes) {
          const mac = decodeClientFinished(bytes);
          if (!eq(encodeClientFinished(mac), bytes))
            throw new OracleViolation('ClientFinished decode/encode is not canonical');
        },
      };
    }
    case 'handshake-client': {
      // The client state machine against a (mutated) ServerHello: it must never complete unless the
      // ServerHello is the genuine one (fixed client randomness makes the seed match the client).
      const sim = await simulatedEvidence();
      const items = sampleItems(sim);
      const hs = await handshakeSeeds(items);
      return {
        name,
        description:
          'ClientHandshake.onServerHello with fixed client randomness; completes only on the genuine ServerHello',
        seedSources: '1 ServerHello from a real handshake (simulated SNP + NVIDIA evidence)',
        seeds: [hs.serverHello],
        dictionary: BIN_TOKENS,
        maxRandomLength: 1400,
        async: true,
        async run(bytes) {
          const c = new ClientHandshake({
            crypto,
            verifier: async () => okVerdict,
            requiredEvidence: [],
            random: FIXED(1),
          });
          c.clientHello();
          await c.onServerHello(bytes);
          if (!eq(bytes, hs.serverHello))
            throw new OracleViolation('the client completed a handshake on a mutated ServerHello');
        },
      };
    }
    case 'handshake-server': {
      // The server state machine: a fresh server per input (fixed randomness) gets the genuine
      // ClientHello, then the input as ClientFinished; it must accept only the genuine one.
      const hs = await handshakeSeeds([]);
      return {
        name,
        description:
          'ServerHandshake.onClientFinished after the genuine ClientHello; completes only on the genuine ClientFinished',
        seedSources: '1 ClientFinished from a real handshake',
        seeds: [hs.clientFinished],
        dictionary: BIN_TOKENS,
        maxRandomLength: 80,
        async: true,
        async run(bytes) {
          const s = new ServerHandshake({
            crypto,
            collectEvidence: async () => [],
            serverInfo: ascii('fuzz server info'),
            random: FIXED(2),
          });
          await s.onClientHello(hs.clientHello);
          s.onClientFinished(bytes);
          if (!eq(bytes, hs.clientFinished))
            throw new OracleViolation(
              'the server completed a handshake on a mutated ClientFinished',
            );
        },
      };
    }
    case 'evidence-bundle': {
      const sim = await simulatedEvidence();
      const seeds = [
        encodeEvidenceBundle(sampleItems(sim), L),
        encodeEvidenceBundle(sampleItems(null), L),
        encodeEvidenceBundle([], L),
      ];
      return {
        name,
        description: 'decodeEvidenceBundle; a decoded bundle re-encodes to the same bytes',
        seedSources: `${seeds.length} bundles (simulated SNP + NVIDIA evidence)`,
        seeds,
        dictionary: BIN_TOKENS.concat(
          ['sev-snp', 'tdx', 'report', 'chain', 'rim.driver'].map(ascii),
        ),
        maxRandomLength: 512,
        async: false,
        run(bytes) {
          const items = decodeEvidenceBundle(bytes, L);
          if (!eq(encodeEvidenceBundle(items, L), bytes))
            throw new OracleViolation('EvidenceBundle decode/encode is not canonical');
        },
      };
    }
    case 'channel-frame':
      return frameTarget(name, 'aes-256-gcm');
    case 'channel-frame-chacha':
      return frameTarget(name, 'chacha20-poly1305');
    case 'channel-sequence':
      return sequenceTarget();
    case 'app-message': {
      const seeds = appMessages().map((m) => encodeAppMessage(m));
      return {
        name,
        description:
          'decodeAppMessage (all 9 types); a decoded message re-encodes to the same bytes',
        seedSources: `${seeds.length} encoded messages`,
        seeds,
        dictionary: BIN_TOKENS.concat(
          [0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28].map((t) => Uint8Array.of(t)),
          [
            [0x7f, 0xf8, 0, 0, 0, 0, 0, 0],
            [0x80, 0, 0, 0, 0, 0, 0, 0],
            [0x7f, 0xf0, 0, 0, 0, 0, 0, 0],
          ].map((t) => Uint8Array.from(t)),
          ['\u00e9', '\ud83d\ude00', '\u0000'].map(ascii),
          [
            Uint8Array.of(0xc0, 0x80),
            Uint8Array.of(0xed, 0xa0, 0x80),
            Uint8Array.of(0xf4, 0x90, 0x80, 0x80),
          ],
        ),
        maxRandomLength: 512,
        async: false,
        run(bytes) {
          const m = decodeAppMessage(bytes);
          if (!eq(encodeAppMessage(m), bytes))
            throw new OracleViolation(`AppMessage ${m.type} decode/encode is not canonical`);
        },
      };
    }
    case 'snp-report': {
      const files = vectorFiles(
        'sev-snp',
        (n) => /report.*\.bin$|attestation\.bin$/.test(n) && !n.includes('hcl'),
      );
      const seeds = files.map(read);
      const hexReport = vec('sev-snp', 'virtee-sev', 'report_milan.hex');
      if (hexReport) seeds.push(readHexFile(hexReport));
      let nHcl = 0;
      for (const p of vectorFiles('sev-snp/azure-hcl', (n) => n.endsWith('hcl-report.bin'))) {
        seeds.push(read(p).slice(0x20, 0x20 + 0x4a0));
        nHcl++;
      }
      const sim = await simulatedEvidence();
      seeds.push(...part(sim.snp, 'report'));
      return {
        name,
        description: 'parseSnpReport (v2/v3/v5, reserved bytes, TCB layouts)',
        seedSources: `${seeds.length - nHcl - 1} vector reports + ${nHcl} from Azure HCL reports + 1 simulated`,
        seeds,
        dictionary: BIN_TOKENS.concat([2, 3, 4, 5].map((v) => Uint8Array.of(v, 0, 0, 0))),
        maxRandomLength: 2400,
        async: false,
        run(bytes) {
          parseSnpReport(bytes);
        },
      };
    }
    case 'azure-hcl': {
      // HCL container (header, runtime-data header, var_data JSON with HCLAkPub) and then the
      // hardware report in its slot: SNP report or TDREPORT, as the verifier does.
      const seeds = dedupe([
        ...vectorFiles('', (n) => n.endsWith('hcl-report.bin')).map(read),
        ...azureJsonParts('hcl'),
      ]);
      return {
        name,
        description:
          'parseHclReport (header, runtime claims JSON, padding) + parseSnpReport / parseTdReport of the hardware slot',
        seedSources: `${seeds.length} Azure HCL reports (SNP and TDX; .bin and evidence JSON)`,
        seeds,
        dictionary: BIN_TOKENS.concat(JSON_TOKENS, [ascii('HCLA'), ascii('"HCLAkPub"')]),
        maxRandomLength: 3000,
        async: false,
        run(bytes) {
          const h = parseHclReport(bytes);
          if (h.reportType === HCL.REPORT_TYPE_SNP) parseSnpReport(h.hwReport);
          else parseTdReport(h.hwReport);
        },
      };
    }
    case 'azure-tpm-quote': {
      const seeds = dedupe(azureJsonParts('tpm_quote'));
      return {
        name,
        description:
          'parseTpmQuote (TPMS_ATTEST quote: magic, type, names, clock info, PCR selection, digest)',
        seedSources: `${seeds.length} vTPM quotes from Azure evidence JSON`,
        seeds,
        dictionary: BIN_TOKENS.concat([
          Uint8Array.of(0xff, 0x54, 0x43, 0x47),
          Uint8Array.of(0x80, 0x18),
        ]),
        maxRandomLength: 512,
        async: false,
        run(bytes) {
          parseTpmQuote(bytes);
        },
      };
    }
    case 'azure-evidence-json': {
      const seeds = vectorFiles('', (n) => /evidence.*\.json$/.test(n) && !n.includes('parse')).map(
        read,
      );
      return {
        name,
        description:
          'azureEvidenceFromJson (trustee v0/v1/v2 and lunal formats) after strict JSON parsing',
        seedSources: `${seeds.length} Azure evidence JSON documents`,
        seeds,
        dictionary: JSON_TOKENS.concat(
          ['"hcl_report":', '"tpm_quote":', '"pcrs":', '"vcek":'].map(ascii),
        ),
        maxRandomLength: 1024,
        async: false,
        run(bytes) {
          let doc: unknown;
          try {
            doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
          } catch {
            // not JSON: counted as a rejection; the adapter under test is not reached
            throw new ProtocolError('malformed', 'fuzz: input is not JSON', 'evidence');
          }
          azureEvidenceFromJson(doc);
        },
      };
    }
    case 'tdx-quote': {
      const seeds = vectorFiles(
        'tdx',
        (n) => /quote.*\.(dat|bin)$/.test(n) || n === 'tdx_prod_quote_SPR_E4.dat',
      ).map(read);
      return {
        name,
        description:
          'parseTdxQuote (v4/v5, body types 2/3, QE report, PEM PCK chain, trailing bytes)',
        seedSources: `${seeds.length} vector quotes`,
        seeds: dedupe(seeds),
        dictionary: BIN_TOKENS.concat(PEM_TOKENS),
        maxRandomLength: 4096,
        async: false,
        run(bytes) {
          parseTdxQuote(bytes);
        },
      };
    }
    case 'tdx-tcbinfo':
    case 'tdx-qe-identity': {
      const tcb = name === 'tdx-tcbinfo';
      const seeds = vectorFiles('tdx', (n) =>
        tcb ? /tcbinfo|tcb_info/i.test(n) : /qeidentity|qe_identity|enclaveIdentity/i.test(n),
      ).map(read);
      return {
        name,
        description: tcb
          ? 'parseTdxTcbInfo (PCS JSON, signed span extraction)'
          : 'parseQeIdentity (PCS JSON, signed span extraction)',
        seedSources: `${seeds.length} PCS collateral documents`,
        seeds,
        dictionary: JSON_TOKENS,
        maxRandomLength: 1024,
        async: false,
        run(bytes) {
          if (tcb) parseTdxTcbInfo(bytes);
          else parseQeIdentity(bytes);
        },
      };
    }
    case 'tdx-ccel': {
      const seeds = vectorFiles('tdx', (n) => /ccel/.test(n) && !/table|nonce|quote/.test(n)).map(
        read,
      );
      return {
        name,
        description:
          'parseCcel (TCG event log: Spec ID header, digests per algorithm, filler tail)',
        seedSources: `${seeds.length} CCEL logs`,
        seeds,
        dictionary: BIN_TOKENS.concat([
          ascii('Spec ID Event03\u0000'),
          Uint8Array.of(0x0c, 0x00, 0x30, 0x00),
        ]),
        maxRandomLength: 2048,
        async: false,
        run(bytes) {
          parseCcel(bytes);
        },
      };
    }
    case 'nvidia-spdm': {
      const bin = vectorFiles('nvidia', (n) => /report.*\.dat$/.test(n)).map(read);
      const hexFiles = vectorFiles('nvidia', (n) =>
        /report\d*\.(txt|hex)$|AttestationReport\.txt$/.test(n),
      );
      const fromHex = hexFiles.map((p) => reportBytesFromInput(read(p)));
      const sim = await simulatedEvidence();
      const seeds = dedupe([...bin, ...fromHex, ...part(sim.gpu, 'report')]);
      // two hex-text seeds exercise the text path of reportBytesFromInput
      if (hexFiles[0]) seeds.push(read(hexFiles[0]));
      return {
        name,
        description:
          'reportBytesFromInput + parseNvidiaReport (SPDM 1.1 request/response, opaque TLVs)',
        seedSources: `${seeds.length} reports (H100, NVSwitch, Blackwell vectors + simulated; 1 as hex text)`,
        seeds,
        dictionary: BIN_TOKENS.concat([
          Uint8Array.of(0x14, 0x00, 0x30, 0x00),
          Uint8Array.of(0x40, 0xc0, 0x0d, 0x00),
        ]),
        maxRandomLength: 8192,
        async: false,
        run(bytes) {
          parseNvidiaReport(reportBytesFromInput(bytes));
        },
      };
    }
    case 'x509-der': {
      const sim = await simulatedEvidence();
      const seeds = allCertDer();
      const nVec = seeds.length;
      for (const n of ['vcek', 'ask', 'ark']) seeds.push(...part(sim.snp, n));
      try {
        seeds.push(
          ...parseCertChain(sim.gpu.parts.get('chain') ?? new Uint8Array(0)).map((c) => c.der),
        );
      } catch {
        // the chain part's format is the provider's business; the DER seeds above still stand
      }
      return {
        name,
        description: 'parseCertificate (strict DER, names, SPKI, extensions, signature algorithms)',
        seedSources: `${nVec} vector certificates + ${seeds.length - nVec} simulated`,
        seeds,
        dictionary: DER_TOKENS,
        maxRandomLength: 2048,
        async: false,
        run(bytes) {
          parseCertificate(bytes);
        },
      };
    }
    case 'x509-pem': {
      const seeds = dedupe(allPemText().map(ascii)).filter((s) => s.length < 64 * 1024);
      return {
        name,
        description:
          'parseCertChain (PEM blocks or concatenated DER) as used for device and PCK chains',
        seedSources: `${seeds.length} PEM files`,
        seeds,
        dictionary: PEM_TOKENS,
        maxRandomLength: 1024,
        async: false,
        run(bytes) {
          parseCertChain(bytes);
        },
      };
    }
    case 'x509-crl': {
      const seeds = vectorFiles('', (n) => /crl/i.test(n)).map(read);
      return {
        name,
        description: 'parseCrl (DER CRLs: Intel root and PCK CRLs, AMD CRLs)',
        seedSources: `${seeds.length} CRLs`,
        seeds,
        dictionary: DER_TOKENS,
        maxRandomLength: 1024,
        async: false,
        run(bytes) {
          parseCrl(bytes);
        },
      };
    }
    case 'ocsp': {
      const seeds = vectorFiles('nvidia', (n) => /ocsp_response\.dat$/.test(n)).map(
        (p) => new Uint8Array(Buffer.from(readFileSync(p, 'utf8').trim(), 'base64')),
      );
      return {
        name,
        description: 'parseOcspResponse (BasicOCSPResponse, responder certificates)',
        seedSources: `${seeds.length} NVIDIA OCSP responses`,
        seeds,
        dictionary: DER_TOKENS,
        maxRandomLength: 1024,
        async: false,
        run(bytes) {
          parseOcspResponse(bytes);
        },
      };
    }
    case 'ocsp-request': {
      // Input: a DER certificate (mutated). The builder runs with it as the subject and as the
      // issuer; the oracle decodes the request and checks the CertID against the inputs.
      const sim = await simulatedEvidence();
      const chain = parseCertChain(sim.gpu.parts.get('chain') ?? new Uint8Array(0));
      const seeds = [...allCertDer().slice(0, 40), ...chain.map((c) => c.der)];
      const fixedIssuer = chain[chain.length - 1]!;
      const sha384 = (b: Uint8Array): string => createHash('sha384').update(b).digest('hex');
      const checkRequest = (req: Uint8Array, cert: Certificate, issuer: Certificate): void => {
        // OCSPRequest → TBSRequest → requestList → Request → CertID
        let n = parseDer(req);
        for (let i = 0; i < 4; i++) {
          const c = children(n);
          if (c.length !== 1)
            throw new OracleViolation(`level ${i}: expected 1 child, got ${c.length}`);
          n = c[0]!;
        }
        const certId = children(n);
        if (certId.length !== 4) throw new OracleViolation('CertID: expected 4 fields');
        if (hex(certId[1]!.value) !== sha384(issuer.subject.der))
          throw new OracleViolation('CertID.issuerNameHash: expected SHA-384(issuer name)');
        if (hex(certId[2]!.value) !== sha384(publicKeyBits(issuer)))
          throw new OracleViolation('CertID.issuerKeyHash: expected SHA-384(issuer key bits)');
        if (hex(readIntegerBytes(certId[3], 'CertID.serialNumber')) !== hex(cert.serialNumber))
          throw new OracleViolation('CertID.serialNumber: expected the certificate serial');
      };
      return {
        name,
        description:
          'buildOcspRequest (collateral fetch): DER certificate in, RFC 6960 request out; the request decodes to the CertID of its inputs',
        seedSources: `${seeds.length - chain.length} vector certificates + ${chain.length} simulated`,
        seeds,
        dictionary: DER_TOKENS,
        maxRandomLength: 2048,
        async: false,
        run(bytes) {
          const cert = parseCertificate(bytes);
          for (const issuer of [cert, fixedIssuer]) {
            let req: Uint8Array;
            try {
              req = buildOcspRequest(cert, issuer);
            } catch (e) {
              if (e instanceof ProtocolError) continue; // e.g. an issuer key kind OCSP cannot hash
              throw e;
            }
            checkRequest(req, cert, issuer);
          }
        },
      };
    }
    case 'ocsp-cache': {
      // The server's stapled-OCSP cache reader: a (mutated) file in the cache for a fixed
      // simulated device certificate. It never throws; it returns the bytes only when they verify
      // (the client's own rule) and otherwise a reason (reported as a rejection here).
      const sim = await simulatedEvidence();
      const chain = parseCertChain(sim.gpu.parts.get('chain') ?? new Uint8Array(0));
      const now = new Date();
      const dir = mkdtempSync(join(tmpdir(), 'teechat-fuzz-ocsp-'));
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      const seeds: Uint8Array[] = [];
      let pair: [Certificate, Certificate] | undefined;
      for (const [k, v] of sim.gpu.parts) {
        if (!/^ocsp\.\d+$/.test(k)) continue;
        seeds.push(v);
        for (let i = 0; pair === undefined && i + 1 < chain.length; i++) {
          writeFileSync(ocspCacheFile(dir, chain[i]!), v);
          if (freshCachedOcsp(dir, chain[i]!, chain[i + 1]!, now).der !== undefined)
            pair = [chain[i]!, chain[i + 1]!];
        }
      }
      if (pair === undefined) throw new Error('ocsp-cache: no simulated OCSP response verifies');
      const [cert, issuer] = pair;
      const file = ocspCacheFile(dir, cert);
      return {
        name,
        description:
          'freshCachedOcsp (the server staples only cached OCSP responses that verify now): never throws; bytes returned only when they parse and verify',
        seedSources: `${seeds.length} simulated OCSP responses (cache dir ${dir})`,
        seeds,
        dictionary: DER_TOKENS,
        maxRandomLength: 2048,
        async: false,
        run(bytes) {
          writeFileSync(file, bytes);
          const r = freshCachedOcsp(dir, cert, issuer, now);
          if ((r.der === undefined) === (r.problem === undefined))
            throw new OracleViolation('expected exactly one of der / problem');
          if (r.der !== undefined) {
            if (!eq(r.der, bytes)) throw new OracleViolation('returned bytes differ from the file');
            parseOcspResponse(r.der); // must parse (it verified)
            return;
          }
          throw new ProtocolError('malformed', `not stapled: ${r.problem ?? ''}`);
        },
      };
    }
    case 'tdx-collateral-cache': {
      // The TDX provider's cache reader: a (mutated) collateral file is classified by content
      // (tdxCollateralPartName) and dated (tdxCollateralProblem / freshTdxCollateral), which never
      // throw; a file is stapled only when it parses and is current.
      const files = vectorFiles(
        'tdx',
        (n) => /tcb_?info|qe_identity|enclaveIdentity|crl/i.test(n) && !n.endsWith('.md'),
      );
      const seeds = dedupe(files.map(read)).filter((b) => b.length < 256 * 1024);
      const at = new Date('2026-03-20T00:00:00Z'); // inside the lunal collateral's windows
      return {
        name,
        description:
          'tdxCollateralPartName + tdxCollateralProblem + freshTdxCollateral (server-side freshness of stapled TDX collateral): never throw; a kept dated part re-parses',
        seedSources: `${seeds.length} vector collateral files`,
        seeds,
        dictionary: [...DER_TOKENS, ...JSON_TOKENS],
        maxRandomLength: 4096,
        async: false,
        run(bytes) {
          const part = tdxCollateralPartName('fuzz_crl.der', bytes) ?? 'collateral.tcb_info';
          const problem = tdxCollateralProblem(part, bytes, at, 31);
          const f = freshTdxCollateral(new Map([[part, bytes]]), at, 31);
          if ((problem === null) !== f.parts.has(part) || f.stale.length !== (problem ? 1 : 0))
            throw new OracleViolation('freshTdxCollateral disagrees with tdxCollateralProblem');
          if (problem !== null) throw new ProtocolError('malformed', problem);
          if (part === 'collateral.tcb_info') parseTdxTcbInfo(bytes);
          else if (part === 'collateral.qe_identity') parseQeIdentity(bytes);
        },
      };
    }
    case 'rim-xml': {
      const files = vectorFiles('nvidia', (n) => n.endsWith('.swidtag') || n.endsWith('.xml'));
      const seeds = files.map(read);
      const sim = await simulatedEvidence();
      seeds.push(...part(sim.gpu, 'rim.driver'), ...part(sim.gpu, 'rim.vbios'));
      return {
        name,
        description:
          'parseXmlBytes + c14n11 (whole document and SignedInfo) + parseEnvelopedSignature + parseRim',
        seedSources: `${files.length} vector RIMs + ${seeds.length - files.length} simulated`,
        seeds,
        dictionary: XML_TOKENS,
        maxRandomLength: 1024,
        async: false,
        run(bytes) {
          const doc = parseXmlBytes(bytes);
          c14n11(doc.root);
          allowProtocolError(() => parseEnvelopedSignature(doc)); // C14N of SignedInfo + document
          parseRim(bytes);
        },
      };
    }
    case 'xml-c14n': {
      const files = vectorFiles('nvidia', (n) => n.endsWith('.swidtag') || n.endsWith('.xml'));
      const seeds = files.map(read).filter((b) => b.length < 4096);
      const space = { seeds, dictionary: XML_TOKENS, maxRandomLength: 512 };
      const utf8 = (t: string): Uint8Array => new TextEncoder().encode(t);
      const reparse = (c: string, what: string): XmlElement => {
        try {
          return parseXmlBytes(utf8(c)).root;
        } catch (e) {
          throw new OracleViolation(
            `the canonical form of ${what} does not parse: ${e instanceof Error ? e.message : String(e)}`,
          );
        }
      };
      const descendants = (el: XmlElement, out: XmlElement[]): XmlElement[] => {
        for (const c of el.children) {
          if (out.length >= 4) break;
          if (c.type === 'element') {
            out.push(c);
            descendants(c, out);
          }
        }
        return out;
      };
      return {
        name,
        description:
          'grammar-generated XML (namespaces, prefixes, references, CDATA, PIs, xml:* attributes): parseXml, then C14N 1.1 must be idempotent for the document and for element subsets',
        seedSources: `XML grammar + ${seeds.length} small vector RIMs mutated`,
        ...space,
        arbitrary: fc.oneof(
          { arbitrary: xmlDocumentArb(), weight: 4 },
          { arbitrary: inputArb(space), weight: 1 },
        ),
        async: false,
        run(bytes) {
          const root = parseXmlBytes(bytes).root;
          const c1 = c14n11(root);
          const c2 = c14n11(reparse(c1, 'the document'));
          if (c1 !== c2)
            throw new OracleViolation(
              `C14N is not idempotent: ${JSON.stringify(c1).slice(0, 300)} → ${JSON.stringify(c2).slice(0, 300)}`,
            );
          for (const el of descendants(root, [])) {
            const s1 = c14n11(el);
            const s2 = c14n11(reparse(s1, `<${el.qname}>`));
            if (s1 !== s2)
              throw new OracleViolation(
                `C14N of the subset <${el.qname}> is not idempotent: ${JSON.stringify(s1).slice(0, 300)} → ${JSON.stringify(s2).slice(0, 300)}`,
              );
          }
        },
      };
    }
  }
}

export async function buildTarget(name: string): Promise<FuzzTarget> {
  if (!(TARGET_NAMES as readonly string[]).includes(name))
    throw new Error(`unknown decoder ${JSON.stringify(name)}; one of: ${TARGET_NAMES.join(', ')}`);
  return build(name as TargetName);
}

export { ProtocolError };
