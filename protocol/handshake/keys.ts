/**
 * Transcript hashing, attestation binding values and the key schedule (docs/PROTOCOL.md §Key schedule).
 *
 *   th   = SHA-256(ClientHello ‖ ServerHello.core)
 *   cpuReportData = SHA-512("teechat/v1 cpu report_data" ‖ th)   (64 bytes: SNP REPORT_DATA, TDX REPORTDATA)
 *   gpuNonce      = SHA-256("teechat/v1 gpu nonce" ‖ th)         (32 bytes: NVIDIA SPDM nonce)
 *   th_e = SHA-256(th ‖ u32 bundle_len ‖ bundle)                 (the transcript including the evidence)
 *   ikm  = X25519 shared (32) ‖ ML-KEM-768 shared (32)
 *   okm  = HKDF-SHA256(ikm, salt = th_e, info = "teechat/v1 handshake keys", L = 128)
 *   k_c2s = okm[0..32), k_s2c = okm[32..64), k_sf = okm[64..96), k_cf = okm[96..128)
 *   server_finished = HMAC-SHA256(k_sf, th_e)
 *   th_s = SHA-256(th_e ‖ server_finished)
 *   client_finished = HMAC-SHA256(k_cf, th_s)
 *   transcript_hash = SHA-256(th_s ‖ client_finished)            (exported for channel binding)
 */
import type { BindingValues } from '../attestation/types';
import type { CryptoProvider } from '../crypto/provider';
import { fail } from '../errors';
import { ascii, concat } from '../wire/bytes';

export const LABELS = {
  cpuReportData: 'teechat/v1 cpu report_data',
  gpuNonce: 'teechat/v1 gpu nonce',
  handshakeKeys: 'teechat/v1 handshake keys',
} as const;

const L = Object.fromEntries(Object.entries(LABELS).map(([k, v]) => [k, ascii(v)])) as Record<
  keyof typeof LABELS,
  Uint8Array
>;

function checkTh(th: Uint8Array): void {
  if (!(th instanceof Uint8Array) || th.length !== 32)
    fail('bad_length', 'transcript_hash', '32 bytes', th?.length);
}

/** SEV-SNP REPORT_DATA / TDX REPORTDATA for a transcript hash: SHA-512(label ‖ th), 64 bytes. */
export function cpuReportData(crypto: CryptoProvider, th: Uint8Array): Uint8Array {
  checkTh(th);
  return crypto.hash('SHA-512', concat(L.cpuReportData, th));
}

/** NVIDIA GPU attestation nonce for a transcript hash: SHA-256(label ‖ th), 32 bytes. */
export function gpuNonce(crypto: CryptoProvider, th: Uint8Array): Uint8Array {
  checkTh(th);
  return crypto.hash('SHA-256', concat(L.gpuNonce, th));
}

export function bindingValues(crypto: CryptoProvider, th: Uint8Array): BindingValues {
  return { cpuReportData: cpuReportData(crypto, th), gpuNonce: gpuNonce(crypto, th) };
}

export function transcriptHash(
  crypto: CryptoProvider,
  clientHello: Uint8Array,
  serverHelloCore: Uint8Array,
): Uint8Array {
  return crypto.hash('SHA-256', concat(clientHello, serverHelloCore));
}

export interface HandshakeKeys {
  readonly c2s: Uint8Array;
  readonly s2c: Uint8Array;
  readonly serverFinishedKey: Uint8Array;
  readonly clientFinishedKey: Uint8Array;
}

export function deriveKeys(
  crypto: CryptoProvider,
  x25519Shared: Uint8Array,
  mlkemShared: Uint8Array,
  thE: Uint8Array,
): HandshakeKeys {
  const ikm = concat(x25519Shared, mlkemShared);
  const okm = crypto.hkdf('SHA-256', ikm, thE, L.handshakeKeys, 128);
  ikm.fill(0);
  const keys = {
    c2s: okm.slice(0, 32),
    s2c: okm.slice(32, 64),
    serverFinishedKey: okm.slice(64, 96),
    clientFinishedKey: okm.slice(96, 128),
  };
  okm.fill(0);
  return keys;
}

export function serverFinishedMac(
  crypto: CryptoProvider,
  key: Uint8Array,
  thE: Uint8Array,
): Uint8Array {
  return crypto.hmac('SHA-256', key, thE);
}

export function clientFinishedMac(
  crypto: CryptoProvider,
  key: Uint8Array,
  thS: Uint8Array,
): Uint8Array {
  return crypto.hmac('SHA-256', key, thS);
}
