/**
 * Handshake message codecs (docs/PROTOCOL.md §Handshake). Byte layouts:
 *
 * ClientHello
 *   u8   type = 0x01
 *   u8   version_count (1..8)      ‖ u16 version*      (client's supported versions)
 *   u8   suite_count (1..16)       ‖ u16 suite*        (client's preference order)
 *   32   x25519_pub
 *   1184 mlkem768_encapsulation_key
 *   32   client_random
 *   u8   required_count (≤ limits.maxRequiredEvidence) ‖ vec8 kind*   (ASCII EvidenceKind)
 *
 * ServerHello = core ‖ u32 bundle_len ‖ bundle ‖ 32 server_finished
 *   core:
 *   u8   type = 0x02
 *   u16  version
 *   u16  suite
 *   32   x25519_pub
 *   1088 mlkem768_ciphertext
 *   32   server_random
 *   u32  server_info_len (≤ limits.maxServerInfo) ‖ server_info
 *
 * ClientFinished
 *   u8   type = 0x03
 *   32   client_finished
 */
import type { EvidenceItem, EvidenceKind } from '../attestation/types';
import type { AeadAlg } from '../crypto/provider';
import { fail } from '../errors';
import type { Limits } from '../limits';
import { Reader, Writer } from '../wire/codec';
import { decodeEvidenceBundle, readEvidenceKind, writeEvidenceKind } from './evidence';

export const MSG_CLIENT_HELLO = 0x01;
export const MSG_SERVER_HELLO = 0x02;
export const MSG_CLIENT_FINISHED = 0x03;

export const PROTOCOL_VERSION = 1;
export const SUPPORTED_VERSIONS: readonly number[] = [PROTOCOL_VERSION];

export const X25519_PUB_LEN = 32;
export const MLKEM_EK_LEN = 1184;
export const MLKEM_CT_LEN = 1088;
export const RANDOM_LEN = 32;
export const FINISHED_LEN = 32;
export const MAX_VERSIONS = 8;
export const MAX_SUITES = 16;

/** Cipher suites: key exchange X25519 + ML-KEM-768, HKDF-SHA256, and the channel AEAD. */
export const SUITES = {
  0x0001: { name: 'TEECHAT_X25519_MLKEM768_HKDF_SHA256_AES_256_GCM', aead: 'aes-256-gcm' },
  0x0002: {
    name: 'TEECHAT_X25519_MLKEM768_HKDF_SHA256_CHACHA20_POLY1305',
    aead: 'chacha20-poly1305',
  },
} as const satisfies Record<number, { name: string; aead: AeadAlg }>;
export type SuiteId = keyof typeof SUITES;
export const SUITE_AES_256_GCM: SuiteId = 0x0001;
export const SUITE_CHACHA20_POLY1305: SuiteId = 0x0002;
export const DEFAULT_SUITES: readonly SuiteId[] = [SUITE_AES_256_GCM, SUITE_CHACHA20_POLY1305];

export function isSuiteId(n: number): n is SuiteId {
  return n === 0x0001 || n === 0x0002;
}

export interface ClientHello {
  readonly versions: readonly number[];
  readonly suites: readonly number[];
  readonly x25519Pub: Uint8Array;
  readonly mlkemEncapsulationKey: Uint8Array;
  readonly random: Uint8Array;
  readonly requiredEvidence: readonly EvidenceKind[];
}

export interface ServerHelloCore {
  readonly version: number;
  readonly suite: number;
  readonly x25519Pub: Uint8Array;
  readonly mlkemCiphertext: Uint8Array;
  readonly random: Uint8Array;
  readonly serverInfo: Uint8Array;
}

export interface ServerHello extends ServerHelloCore {
  /** The exact core bytes (for the transcript hash). */
  readonly coreBytes: Uint8Array;
  /** The exact `u32 bundle_len ‖ bundle` bytes (for the transcript hash). */
  readonly bundleBytes: Uint8Array;
  readonly evidence: readonly EvidenceItem[];
  readonly serverFinished: Uint8Array;
}

export function encodeClientHello(m: ClientHello, limits: Limits): Uint8Array {
  const w = new Writer('ClientHello', 1400);
  w.u8(MSG_CLIENT_HELLO, 'type');
  if (m.versions.length < 1 || m.versions.length > MAX_VERSIONS)
    fail('bad_length', 'ClientHello.version_count', `1..${MAX_VERSIONS}`, m.versions.length);
  w.u8(m.versions.length, 'version_count');
  for (const v of m.versions) w.u16(v, 'version');
  if (m.suites.length < 1 || m.suites.length > MAX_SUITES)
    fail('bad_length', 'ClientHello.suite_count', `1..${MAX_SUITES}`, m.suites.length);
  w.u8(m.suites.length, 'suite_count');
  for (const s of m.suites) w.u16(s, 'suite');
  w.bytes(m.x25519Pub, 'x25519_pub', X25519_PUB_LEN);
  w.bytes(m.mlkemEncapsulationKey, 'mlkem768_encapsulation_key', MLKEM_EK_LEN);
  w.bytes(m.random, 'client_random', RANDOM_LEN);
  if (m.requiredEvidence.length > limits.maxRequiredEvidence)
    fail(
      'too_large',
      'ClientHello.required_count',
      `at most ${limits.maxRequiredEvidence}`,
      m.requiredEvidence.length,
    );
  w.u8(m.requiredEvidence.length, 'required_count');
  m.requiredEvidence.forEach((k, i) => {
    if (m.requiredEvidence.indexOf(k) !== i)
      fail('malformed', `ClientHello.required[${i}]`, 'a kind not listed before', k);
    writeEvidenceKind(w, k, 'required');
  });
  return w.finish();
}

export function decodeClientHello(bytes: Uint8Array, limits: Limits): ClientHello {
  if (bytes.length > limits.maxClientHello)
    fail(
      'too_large',
      'ClientHello',
      `at most ${limits.maxClientHello} bytes`,
      `${bytes.length} bytes`,
    );
  const r = new Reader(bytes, 'ClientHello');
  const type = r.u8('type');
  if (type !== MSG_CLIENT_HELLO) fail('unknown_type', 'ClientHello.type', MSG_CLIENT_HELLO, type);
  const nv = r.u8('version_count');
  if (nv < 1 || nv > MAX_VERSIONS)
    fail('bad_length', 'ClientHello.version_count', `1..${MAX_VERSIONS}`, nv);
  const versions: number[] = [];
  for (let i = 0; i < nv; i++) versions.push(r.u16(`versions[${i}]`));
  const ns = r.u8('suite_count');
  if (ns < 1 || ns > MAX_SUITES)
    fail('bad_length', 'ClientHello.suite_count', `1..${MAX_SUITES}`, ns);
  const suites: number[] = [];
  for (let i = 0; i < ns; i++) suites.push(r.u16(`suites[${i}]`));
  const x25519Pub = r.bytes(X25519_PUB_LEN, 'x25519_pub');
  const mlkemEncapsulationKey = r.bytes(MLKEM_EK_LEN, 'mlkem768_encapsulation_key');
  const random = r.bytes(RANDOM_LEN, 'client_random');
  const nr = r.u8('required_count');
  if (nr > limits.maxRequiredEvidence)
    fail('too_large', 'ClientHello.required_count', `at most ${limits.maxRequiredEvidence}`, nr);
  const requiredEvidence: EvidenceKind[] = [];
  for (let i = 0; i < nr; i++) {
    const k = readEvidenceKind(r, `required[${i}]`);
    if (requiredEvidence.includes(k))
      fail('malformed', `ClientHello.required[${i}]`, 'a kind not listed before', k);
    requiredEvidence.push(k);
  }
  r.end();
  return { versions, suites, x25519Pub, mlkemEncapsulationKey, random, requiredEvidence };
}

export function encodeServerHelloCore(m: ServerHelloCore, limits: Limits): Uint8Array {
  const w = new Writer('ServerHello', 1200 + m.serverInfo.length);
  w.u8(MSG_SERVER_HELLO, 'type');
  w.u16(m.version, 'version');
  w.u16(m.suite, 'suite');
  w.bytes(m.x25519Pub, 'x25519_pub', X25519_PUB_LEN);
  w.bytes(m.mlkemCiphertext, 'mlkem768_ciphertext', MLKEM_CT_LEN);
  w.bytes(m.random, 'server_random', RANDOM_LEN);
  w.vec32(m.serverInfo, 'server_info', limits.maxServerInfo);
  return w.finish();
}

/** `u32 bundle_len ‖ bundle` as it appears in the ServerHello. */
export function encodeBundleField(bundle: Uint8Array, limits: Limits): Uint8Array {
  return new Writer('ServerHello', bundle.length + 4)
    .vec32(bundle, 'evidence_bundle', limits.maxEvidenceBytes)
    .finish();
}

export function decodeServerHello(bytes: Uint8Array, limits: Limits): ServerHello {
  if (bytes.length > limits.maxServerHello)
    fail(
      'too_large',
      'ServerHello',
      `at most ${limits.maxServerHello} bytes`,
      `${bytes.length} bytes`,
    );
  const r = new Reader(bytes, 'ServerHello');
  const type = r.u8('type');
  if (type !== MSG_SERVER_HELLO) fail('unknown_type', 'ServerHello.type', MSG_SERVER_HELLO, type);
  const version = r.u16('version');
  const suite = r.u16('suite');
  const x25519Pub = r.bytes(X25519_PUB_LEN, 'x25519_pub');
  const mlkemCiphertext = r.bytes(MLKEM_CT_LEN, 'mlkem768_ciphertext');
  const random = r.bytes(RANDOM_LEN, 'server_random');
  const serverInfo = r.vec32('server_info', limits.maxServerInfo);
  const coreEnd = r.offset;
  const bundle = r.vec32('evidence_bundle', limits.maxEvidenceBytes);
  const bundleEnd = r.offset;
  const serverFinished = r.bytes(FINISHED_LEN, 'server_finished');
  r.end();
  const evidence = decodeEvidenceBundle(bundle, limits);
  return {
    version,
    suite,
    x25519Pub,
    mlkemCiphertext,
    random,
    serverInfo,
    coreBytes: bytes.subarray(0, coreEnd),
    bundleBytes: bytes.subarray(coreEnd, bundleEnd),
    evidence,
    serverFinished,
  };
}

export function encodeClientFinished(mac: Uint8Array): Uint8Array {
  return new Writer('ClientFinished', 1 + FINISHED_LEN)
    .u8(MSG_CLIENT_FINISHED, 'type')
    .bytes(mac, 'client_finished', FINISHED_LEN)
    .finish();
}

export function decodeClientFinished(bytes: Uint8Array): Uint8Array {
  const r = new Reader(bytes, 'ClientFinished');
  const type = r.u8('type');
  if (type !== MSG_CLIENT_FINISHED)
    fail('unknown_type', 'ClientFinished.type', MSG_CLIENT_FINISHED, type);
  const mac = r.bytes(FINISHED_LEN, 'client_finished');
  r.end();
  return mac;
}
