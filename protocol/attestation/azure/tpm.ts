/**
 * TPM 2.0 quote structures (TCG TPM 2.0 Library, Part 2: Structures): TPMS_ATTEST for
 * TPM_ST_ATTEST_QUOTE, TPMT_SIGNATURE, and the PCR digest a quote signs. Big-endian.
 * Throws only ProtocolError.
 */
import { ProtocolError } from '../../errors';
import type { CryptoProvider, HashAlg } from '../../crypto/provider';
import { concatBytes } from '../../asn1/encoding';

export const TPM_GENERATED_VALUE = 0xff544347;
export const TPM_ST_ATTEST_QUOTE = 0x8018;
export const TPM_ALG = {
  SHA1: 0x0004,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  RSASSA: 0x0014,
  RSAPSS: 0x0016,
} as const;
const HASH_BY_ALG: Readonly<Record<number, HashAlg>> = {
  0x000b: 'SHA-256',
  0x000c: 'SHA-384',
  0x000d: 'SHA-512',
};
export const PCR_COUNT = 24;

export interface PcrSelection {
  readonly hashAlg: number;
  readonly pcrs: readonly number[];
}

export interface TpmQuote {
  readonly raw: Uint8Array;
  readonly qualifiedSigner: Uint8Array;
  /** The caller's nonce (qualifying data). */
  readonly extraData: Uint8Array;
  readonly clock: bigint;
  readonly resetCount: number;
  readonly restartCount: number;
  readonly safe: boolean;
  readonly firmwareVersion: bigint;
  readonly pcrSelections: readonly PcrSelection[];
  readonly pcrDigest: Uint8Array;
}

class Reader {
  o = 0;
  constructor(
    readonly b: Uint8Array,
    readonly what: string,
  ) {}
  need(n: number, field: string): void {
    if (this.o + n > this.b.length) {
      throw new ProtocolError(
        'truncated',
        `${this.what}.${field}: expected ${n} bytes at offset ${this.o}, got ${this.b.length - this.o}`,
        `${this.what}.${field}`,
      );
    }
  }
  u8(f: string): number {
    this.need(1, f);
    return this.b[this.o++]!;
  }
  u16(f: string): number {
    this.need(2, f);
    const v = (this.b[this.o]! << 8) | this.b[this.o + 1]!;
    this.o += 2;
    return v;
  }
  u32(f: string): number {
    this.need(4, f);
    const v =
      ((this.b[this.o]! << 24) |
        (this.b[this.o + 1]! << 16) |
        (this.b[this.o + 2]! << 8) |
        this.b[this.o + 3]!) >>>
      0;
    this.o += 4;
    return v;
  }
  u64(f: string): bigint {
    const hi = this.u32(f);
    const lo = this.u32(f);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  bytes(n: number, f: string): Uint8Array {
    this.need(n, f);
    const v = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return v;
  }
  tpm2b(f: string, max: number): Uint8Array {
    const n = this.u16(`${f}.size`);
    if (n > max)
      throw new ProtocolError(
        'bad_length',
        `${this.what}.${f}.size: expected at most ${max}, got ${n}`,
        `${this.what}.${f}`,
      );
    return this.bytes(n, f);
  }
  end(): void {
    if (this.o !== this.b.length) {
      throw new ProtocolError(
        'trailing_bytes',
        `${this.what}: expected ${this.o} bytes, got ${this.b.length} (${this.b.length - this.o} trailing)`,
        this.what,
      );
    }
  }
}

/** Parses a TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE. */
export function parseTpmQuote(b: Uint8Array): TpmQuote {
  const r = new Reader(b, 'tpm_quote');
  const magic = r.u32('magic');
  if (magic !== TPM_GENERATED_VALUE)
    throw new ProtocolError(
      'bad_magic',
      `tpm_quote.magic: expected 0xff544347 (TPM_GENERATED_VALUE), got 0x${magic.toString(16)}`,
      'tpm_quote.magic',
    );
  const type = r.u16('type');
  if (type !== TPM_ST_ATTEST_QUOTE)
    throw new ProtocolError(
      'unknown_type',
      `tpm_quote.type: expected 0x8018 (TPM_ST_ATTEST_QUOTE), got 0x${type.toString(16)}`,
      'tpm_quote.type',
    );
  const qualifiedSigner = r.tpm2b('qualifiedSigner', 2 + 64);
  const extraData = r.tpm2b('extraData', 64);
  const clock = r.u64('clockInfo.clock');
  const resetCount = r.u32('clockInfo.resetCount');
  const restartCount = r.u32('clockInfo.restartCount');
  const safe = r.u8('clockInfo.safe');
  if (safe > 1)
    throw new ProtocolError(
      'malformed',
      `tpm_quote.clockInfo.safe: expected 0 or 1, got ${safe}`,
      'tpm_quote.clockInfo.safe',
    );
  const firmwareVersion = r.u64('firmwareVersion');
  const count = r.u32('pcrSelect.count');
  if (count > 16)
    throw new ProtocolError(
      'bad_length',
      `tpm_quote.pcrSelect.count: expected at most 16, got ${count}`,
      'tpm_quote.pcrSelect.count',
    );
  const pcrSelections: PcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const hashAlg = r.u16('pcrSelect.hash');
    const size = r.u8('pcrSelect.sizeofSelect');
    if (size > 4)
      throw new ProtocolError(
        'bad_length',
        `tpm_quote.pcrSelect.sizeofSelect: expected at most 4, got ${size}`,
        'tpm_quote.pcrSelect',
      );
    const bits = r.bytes(size, 'pcrSelect.pcrSelect');
    const pcrs: number[] = [];
    for (let k = 0; k < size * 8; k++) if (bits[k >> 3]! & (1 << (k & 7))) pcrs.push(k);
    pcrSelections.push({ hashAlg, pcrs });
  }
  const pcrDigest = r.tpm2b('pcrDigest', 64);
  r.end();
  return {
    raw: b,
    qualifiedSigner,
    extraData,
    clock,
    resetCount,
    restartCount,
    safe: safe === 1,
    firmwareVersion,
    pcrSelections,
    pcrDigest,
  };
}

/**
 * The RSA signature bytes from either a raw signature (as Azure's tooling exports it) or a
 * TPMT_SIGNATURE (sigAlg RSASSA, hash SHA-256, TPM2B signature).
 */
export function rsaSignatureBytes(
  b: Uint8Array,
  modulusLength: number,
): { signature: Uint8Array; hash: HashAlg } {
  if (b.length === modulusLength) return { signature: b, hash: 'SHA-256' };
  const r = new Reader(b, 'tpm_signature');
  const alg = r.u16('sigAlg');
  if (alg !== TPM_ALG.RSASSA)
    throw new ProtocolError(
      'unknown_type',
      `tpm_signature.sigAlg: expected 0x0014 (RSASSA), got 0x${alg.toString(16)}`,
      'tpm_signature.sigAlg',
    );
  const h = r.u16('hash');
  const hash = HASH_BY_ALG[h];
  if (hash === undefined)
    throw new ProtocolError(
      'unknown_type',
      `tpm_signature.hash: expected SHA-256/384/512, got 0x${h.toString(16)}`,
      'tpm_signature.hash',
    );
  const signature = r.tpm2b('sig', 512);
  r.end();
  return { signature, hash };
}

/** PCR values of the SHA-256 bank (24 × 32 bytes), from the concatenated bytes. */
export function splitPcrs(b: Uint8Array): Uint8Array[] {
  if (b.length !== PCR_COUNT * 32)
    throw new ProtocolError(
      'bad_length',
      `pcrs: expected ${PCR_COUNT * 32} bytes (24 SHA-256 PCRs), got ${b.length}`,
      'pcrs',
    );
  return Array.from({ length: PCR_COUNT }, (_, i) => b.subarray(32 * i, 32 * i + 32));
}

/** The digest a quote signs over its selection: H(PCR[i] ‖ …) in selection order (SHA-256 bank only). */
export function computePcrDigest(
  crypto: CryptoProvider,
  q: TpmQuote,
  pcrs: readonly Uint8Array[],
): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const sel of q.pcrSelections) {
    if (sel.hashAlg !== TPM_ALG.SHA256)
      throw new ProtocolError(
        'crypto_unsupported',
        `tpm_quote.pcrSelect.hash: expected 0x000b (SHA-256 bank), got 0x${sel.hashAlg.toString(16)}`,
        'tpm_quote.pcrSelect',
      );
    for (const i of sel.pcrs) {
      const v = pcrs[i];
      if (v === undefined)
        throw new ProtocolError(
          'bad_length',
          `pcrs: expected a value for PCR ${i}, got none`,
          'pcrs',
        );
      parts.push(v);
    }
  }
  return crypto.hash('SHA-256', concatBytes(...parts));
}

export const formatSelection = (q: TpmQuote): string =>
  q.pcrSelections
    .map(
      (s) =>
        `${s.hashAlg === TPM_ALG.SHA256 ? 'sha256' : `0x${s.hashAlg.toString(16)}`}:${s.pcrs.join(',')}`,
    )
    .join(' ');
