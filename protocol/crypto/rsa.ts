/**
 * Pure RSA signature verification (RFC 8017): RSAVP1 with BigInt modular exponentiation, then
 * EMSA-PKCS1-v1_5 (§9.2, by re-encoding and comparing) or EMSA-PSS-VERIFY (§9.1.2, MGF1 with the
 * same hash). Verification only: no secret is involved, so timing is not a concern beyond not
 * leaking more than the verdict. Every function returns false for malformed keys or signatures;
 * nothing here throws on attacker-controlled input.
 */
import type { HashAlg, RsaPublicKey, RsaScheme } from './provider';

export type HashFn = (alg: HashAlg, data: Uint8Array) => Uint8Array;

/** Bounds on accepted keys (both providers apply them, so they agree). */
export const RSA_LIMITS = {
  minModulusBits: 1024,
  maxModulusBits: 8192,
  /** Public exponents wider than this are refused (bounds the verification cost). */
  maxExponentBits: 64,
} as const;

export const HASH_LEN: Record<HashAlg, number> = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 };

// DER DigestInfo prefixes, RFC 8017 §9.2 note 1.
const DIGEST_INFO_PREFIX: Record<HashAlg, readonly number[]> = {
  'SHA-256': [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
  ],
  'SHA-384': [
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
  ],
  'SHA-512': [
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
  ],
};

export function os2ip(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = 0; i < b.length; i++) x = (x << 8n) | BigInt(b[i] as number);
  return x;
}

/** I2OSP; returns null when x does not fit in len bytes. */
export function i2osp(x: bigint, len: number): Uint8Array | null {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return x === 0n ? out : null;
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return r;
}

export interface RsaKeyInfo {
  readonly n: bigint;
  readonly e: bigint;
  readonly modBits: number;
  /** k: the modulus length in bytes. */
  readonly k: number;
}

/** Validates a public key's shape (odd modulus within size bounds, odd exponent ≥ 3). */
export function rsaKeyInfo(key: RsaPublicKey): RsaKeyInfo | null {
  if (!(key.n instanceof Uint8Array) || !(key.e instanceof Uint8Array)) return null;
  const n = os2ip(key.n);
  const e = os2ip(key.e);
  const modBits = bitLength(n);
  if (modBits < RSA_LIMITS.minModulusBits || modBits > RSA_LIMITS.maxModulusBits) return null;
  if ((n & 1n) === 0n || (e & 1n) === 0n || e < 3n || e >= n) return null;
  if (bitLength(e) > RSA_LIMITS.maxExponentBits) return null;
  return { n, e, modBits, k: Math.ceil(modBits / 8) };
}

function ctEq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
}

function mgf1(hash: HashFn, alg: HashAlg, seed: Uint8Array, len: number): Uint8Array {
  const hLen = HASH_LEN[alg];
  const out = new Uint8Array(Math.ceil(len / hLen) * hLen);
  const buf = new Uint8Array(seed.length + 4);
  buf.set(seed);
  for (let c = 0; c * hLen < len; c++) {
    buf[seed.length] = (c >>> 24) & 0xff;
    buf[seed.length + 1] = (c >>> 16) & 0xff;
    buf[seed.length + 2] = (c >>> 8) & 0xff;
    buf[seed.length + 3] = c & 0xff;
    out.set(hash(alg, buf), c * hLen);
  }
  return out.subarray(0, len);
}

/** RFC 8017 §8.1.2 / §8.2.2 verification. Returns false for anything malformed. */
export function rsaVerifyPure(
  hash: HashFn,
  key: RsaPublicKey,
  params: RsaScheme,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    if (
      !(HASH_LEN[params.hash] > 0) ||
      !(signature instanceof Uint8Array) ||
      !(message instanceof Uint8Array)
    )
      return false;
    const info = rsaKeyInfo(key);
    if (!info) return false;
    // §8.x.2 step 1: the signature is exactly k octets.
    if (signature.length !== info.k) return false;
    const s = os2ip(signature);
    if (s >= info.n) return false; // RSAVP1 step 1
    const m = modPow(s, info.e, info.n);
    if (params.scheme === 'pkcs1v15') return emsaPkcs1Verify(hash, params.hash, message, m, info.k);
    return emsaPssVerify(hash, params.hash, params.saltLength, message, m, info.modBits - 1);
  } catch {
    return false;
  }
}

function emsaPkcs1Verify(
  hash: HashFn,
  alg: HashAlg,
  message: Uint8Array,
  m: bigint,
  k: number,
): boolean {
  const em = i2osp(m, k);
  if (!em) return false;
  const prefix = DIGEST_INFO_PREFIX[alg];
  const tLen = prefix.length + HASH_LEN[alg];
  if (k < tLen + 11) return false;
  const expected = new Uint8Array(k);
  expected[0] = 0x00;
  expected[1] = 0x01;
  expected.fill(0xff, 2, k - tLen - 1);
  expected[k - tLen - 1] = 0x00;
  expected.set(prefix, k - tLen);
  expected.set(hash(alg, message), k - HASH_LEN[alg]);
  return ctEq(em, expected);
}

function emsaPssVerify(
  hash: HashFn,
  alg: HashAlg,
  sLen: number,
  message: Uint8Array,
  m: bigint,
  emBits: number,
): boolean {
  const hLen = HASH_LEN[alg];
  if (!Number.isInteger(sLen) || sLen < 0) return false;
  const emLen = Math.ceil(emBits / 8);
  const em = i2osp(m, emLen); // fails when m ≥ 2^(8·emLen)
  if (!em) return false;
  const mHash = hash(alg, message);
  if (emLen < hLen + sLen + 2) return false; // step 3
  if (em[emLen - 1] !== 0xbc) return false; // step 4
  const dbLen = emLen - hLen - 1;
  const maskedDB = em.subarray(0, dbLen);
  const h = em.subarray(dbLen, dbLen + hLen);
  const zeroBits = 8 * emLen - emBits;
  const topMask = (0xff << (8 - zeroBits)) & 0xff;
  if (((maskedDB[0] as number) & topMask) !== 0) return false; // step 6
  const dbMask = mgf1(hash, alg, h, dbLen);
  const db = new Uint8Array(dbLen);
  for (let i = 0; i < dbLen; i++) db[i] = (maskedDB[i] as number) ^ (dbMask[i] as number);
  db[0] = (db[0] as number) & (0xff >> zeroBits); // step 9
  const psLen = emLen - hLen - sLen - 2;
  let bad = 0;
  for (let i = 0; i < psLen; i++) bad |= db[i] as number; // step 10: leading zeros
  bad |= (db[psLen] as number) ^ 0x01; // then 0x01
  if (bad !== 0) return false;
  const salt = db.subarray(dbLen - sLen);
  const mPrime = new Uint8Array(8 + hLen + sLen);
  mPrime.set(mHash, 8);
  mPrime.set(salt, 8 + hLen);
  return ctEq(hash(alg, mPrime), h);
}
