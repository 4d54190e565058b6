/**
 * The pure-JavaScript CryptoProvider on the audited `@noble/*` libraries. It is the reference
 * implementation (test/unit/crypto-providers.test.ts checks the Node provider against it byte for
 * byte) and the provider for runtimes without OpenSSL (browser, webview).
 */
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { fail } from '../errors';
import type {
  Aead,
  AeadAlg,
  CryptoProvider,
  EcPublicKey,
  HashAlg,
  KeyPair,
  MlKem768,
  RsaPublicKey,
  RsaScheme,
} from './provider';
import { rsaVerifyPure } from './rsa';

const HASHES = { 'SHA-256': sha256, 'SHA-384': sha384, 'SHA-512': sha512 } as const;

function hashFn(alg: HashAlg): (typeof HASHES)[HashAlg] {
  const h = HASHES[alg];
  if (!h) fail('crypto_unsupported', 'hash', 'SHA-256 | SHA-384 | SHA-512', alg);
  return h;
}

export const AEAD_KEY_LEN = 32;
export const AEAD_NONCE_LEN = 12;
export const AEAD_TAG_LEN = 16;
export const X25519_LEN = 32;
export const MLKEM768 = {
  publicKey: 1184,
  secretKey: 2400,
  cipherText: 1088,
  sharedSecret: 32,
  keygenSeed: 64,
  encapSeed: 32,
} as const;

export function checkLen(field: string, b: Uint8Array, len: number): void {
  if (!(b instanceof Uint8Array)) fail('malformed', field, 'a Uint8Array', typeof b);
  if (b.length !== len) fail('bad_length', field, `${len} bytes`, `${b.length} bytes`);
}

function isZero(b: Uint8Array): boolean {
  let d = 0;
  for (let i = 0; i < b.length; i++) d |= b[i] as number;
  return d === 0;
}

/** Shared argument checks for X25519 so both providers refuse the same inputs the same way. */
export function checkX25519Args(secretKey: Uint8Array, publicKey: Uint8Array): void {
  checkLen('x25519.secretKey', secretKey, X25519_LEN);
  checkLen('x25519.publicKey', publicKey, X25519_LEN);
}

export function rejectZeroShared(shared: Uint8Array): Uint8Array {
  if (isZero(shared))
    fail('bad_key', 'x25519.shared', 'a non-zero shared secret', 'all-zero (low-order public key)');
  return shared;
}

export function checkAeadKey(alg: AeadAlg, key: Uint8Array): void {
  if (alg !== 'aes-256-gcm' && alg !== 'chacha20-poly1305')
    fail('crypto_unsupported', 'aead.alg', 'aes-256-gcm | chacha20-poly1305', alg);
  checkLen('aead.key', key, AEAD_KEY_LEN);
}

/** ML-KEM-768 on @noble/post-quantum (FIPS 203), with length checks that name the field. */
export const nobleMlKem768: MlKem768 = {
  keygen(seed?: Uint8Array): KeyPair {
    if (seed !== undefined) checkLen('mlkem768.keygen.seed', seed, MLKEM768.keygenSeed);
    const kp = ml_kem768.keygen(seed);
    return { publicKey: kp.publicKey, secretKey: kp.secretKey };
  },
  encapsulate(publicKey: Uint8Array, seed?: Uint8Array) {
    checkLen('mlkem768.encapsulationKey', publicKey, MLKEM768.publicKey);
    if (seed !== undefined) checkLen('mlkem768.encapsulate.seed', seed, MLKEM768.encapSeed);
    try {
      const r = ml_kem768.encapsulate(publicKey, seed);
      return { cipherText: r.cipherText, sharedSecret: r.sharedSecret };
    } catch (e) {
      // FIPS 203 §7.2 input check (modulus check) failed.
      return fail(
        'bad_key',
        'mlkem768.encapsulationKey',
        'a valid ML-KEM-768 encapsulation key',
        String((e as Error).message),
      );
    }
  },
  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
    checkLen('mlkem768.cipherText', cipherText, MLKEM768.cipherText);
    checkLen('mlkem768.decapsulationKey', secretKey, MLKEM768.secretKey);
    try {
      return ml_kem768.decapsulate(cipherText, secretKey);
    } catch (e) {
      return fail(
        'bad_key',
        'mlkem768.decapsulationKey',
        'a valid ML-KEM-768 decapsulation key',
        String((e as Error).message),
      );
    }
  },
};

class NobleAead implements Aead {
  readonly alg: AeadAlg;
  readonly #key: Uint8Array;
  constructor(alg: AeadAlg, key: Uint8Array) {
    checkAeadKey(alg, key);
    this.alg = alg;
    // A view, not a copy: whoever owns the key (the channel) wipes it, and this instance with it.
    this.#key = key;
  }
  #cipher(nonce: Uint8Array, aad: Uint8Array) {
    checkLen('aead.nonce', nonce, AEAD_NONCE_LEN);
    return this.alg === 'aes-256-gcm'
      ? gcm(this.#key, nonce, aad)
      : chacha20poly1305(this.#key, nonce, aad);
  }
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    return this.#cipher(nonce, aad).encrypt(plaintext);
  }
  sealInPlace(nonce: Uint8Array, data: Uint8Array, aad: Uint8Array): Uint8Array {
    const ct = this.#cipher(nonce, aad).encrypt(data);
    data.set(ct.subarray(0, data.length));
    return ct.slice(data.length);
  }
  open(nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null {
    if (!(ciphertext instanceof Uint8Array) || ciphertext.length < AEAD_TAG_LEN) return null;
    if (!(nonce instanceof Uint8Array) || nonce.length !== AEAD_NONCE_LEN) return null;
    try {
      return this.#cipher(nonce, aad).decrypt(ciphertext);
    } catch {
      return null;
    }
  }
}

function ecdsaVerifyNoble(
  key: EcPublicKey,
  hash: HashAlg,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    const curve = key.curve === 'P-256' ? p256 : key.curve === 'P-384' ? p384 : undefined;
    const size = key.curve === 'P-256' ? 32 : 48;
    if (!curve || !HASHES[hash]) return false;
    if (
      !(key.point instanceof Uint8Array) ||
      key.point.length !== 1 + 2 * size ||
      key.point[0] !== 0x04
    )
      return false;
    if (!(signature instanceof Uint8Array) || signature.length !== 2 * size) return false;
    const digest = hashFn(hash)(message);
    return curve.verify(signature, digest, key.point, {
      prehash: false,
      lowS: false,
      format: 'compact',
    });
  } catch {
    return false;
  }
}

export function createNobleProvider(): CryptoProvider {
  return {
    name: 'noble',
    randomBytes(n: number): Uint8Array {
      // getRandomValues fills at most 65,536 bytes per call.
      if (n <= 65536) return randomBytes(n);
      const out = new Uint8Array(n);
      for (let o = 0; o < n; o += 65536) out.set(randomBytes(Math.min(65536, n - o)), o);
      return out;
    },
    hash: (alg, data) => hashFn(alg)(data),
    hmac: (alg, key, data) => hmac(hashFn(alg), key, data),
    hkdf: (alg, ikm, salt, info, length) => {
      if (!Number.isInteger(length) || length < 0 || length > 255 * hashFn(alg).outputLen)
        fail('usage', 'hkdf.length', `0..${255 * hashFn(alg).outputLen}`, length);
      return hkdf(hashFn(alg), ikm, salt, info, length);
    },
    x25519KeyPair(secretKey?: Uint8Array): KeyPair {
      const sk = secretKey ?? randomBytes(X25519_LEN);
      checkLen('x25519.secretKey', sk, X25519_LEN);
      return { secretKey: sk.slice(), publicKey: x25519.getPublicKey(sk) };
    },
    x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
      checkX25519Args(secretKey, publicKey);
      let shared: Uint8Array;
      try {
        shared = x25519.getSharedSecret(secretKey, publicKey);
      } catch (e) {
        // noble refuses a low-order public key (RFC 7748 §6.1) with this message, and that
        // refusal only is the low-order verdict; anything else is an unexpected failure.
        if (e instanceof Error && e.message === 'invalid private or public key received')
          shared = new Uint8Array(X25519_LEN);
        else
          fail(
            'crypto_internal',
            'x25519.shared',
            'getSharedSecret to succeed',
            e instanceof Error ? e.message : String(e),
          );
      }
      return rejectZeroShared(shared);
    },
    mlkem768: nobleMlKem768,
    aead: (alg, key) => new NobleAead(alg, key),
    ecdsaVerify: ecdsaVerifyNoble,
    rsaVerify: (key: RsaPublicKey, params: RsaScheme, message: Uint8Array, signature: Uint8Array) =>
      rsaVerifyPure((alg, data) => hashFn(alg)(data), key, params, message, signature),
  };
}

/** A process-wide instance (the provider is stateless apart from its randomness source). */
export const nobleProvider: CryptoProvider = createNobleProvider();
