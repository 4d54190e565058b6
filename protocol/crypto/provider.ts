/**
 * The crypto provider interface. Everything in protocol/ that needs a primitive asks a
 * `CryptoProvider`, so the same code runs on pure `@noble/*` (reference; browser) and on Node's
 * OpenSSL (`protocol-node/crypto-node.ts`; the hot path on the extension host and the server).
 * Both must produce identical bytes (test/unit/crypto-providers.test.ts).
 *
 * Conventions: all byte strings are Uint8Array; EC points are SEC1 uncompressed (0x04 ‖ X ‖ Y);
 * ECDSA signatures are raw big-endian r ‖ s (IEEE P1363), each half the curve's byte length;
 * RSA keys are big-endian unsigned modulus and exponent. Verification returns false on a bad
 * signature or a malformed key/signature; it never throws for attacker-controlled input.
 */

export type HashAlg = 'SHA-256' | 'SHA-384' | 'SHA-512';
export type AeadAlg = 'chacha20-poly1305' | 'aes-256-gcm';
export type EcCurve = 'P-256' | 'P-384';

export interface EcPublicKey {
  readonly kind: 'ec';
  readonly curve: EcCurve;
  /** SEC1 uncompressed point: 0x04 ‖ X ‖ Y. */
  readonly point: Uint8Array;
}

export interface RsaPublicKey {
  readonly kind: 'rsa';
  /** Big-endian modulus (leading zero bytes allowed). */
  readonly n: Uint8Array;
  /** Big-endian public exponent. */
  readonly e: Uint8Array;
}

export type PublicKey = EcPublicKey | RsaPublicKey;

export type RsaScheme =
  | { readonly scheme: 'pss'; readonly hash: HashAlg; readonly saltLength: number }
  | { readonly scheme: 'pkcs1v15'; readonly hash: HashAlg };

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** A keyed AEAD instance: 32-byte key, 12-byte nonce, 16-byte tag appended to the ciphertext. */
export interface Aead {
  readonly alg: AeadAlg;
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Returns null when authentication fails (never throws for bad input). */
  open(nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null;
  /**
   * Optional fast path for large frames: encrypts `data` in place and returns the 16-byte tag.
   * The result (`data` ‖ tag) must equal `seal(nonce, data, aad)` byte for byte.
   */
  sealInPlace?(nonce: Uint8Array, data: Uint8Array, aad: Uint8Array): Uint8Array;
}

export interface MlKem768 {
  /** Encapsulation key 1184 bytes, decapsulation key 2400 bytes. `seed` (64 bytes) for vectors. */
  keygen(seed?: Uint8Array): KeyPair;
  /** Returns ciphertext (1088 bytes) and the 32-byte shared secret. `seed` (32 bytes) for vectors. */
  encapsulate(publicKey: Uint8Array, seed?: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array };
  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

export interface CryptoProvider {
  /** Short name for logs and benchmarks, e.g. "noble" or "node". */
  readonly name: string;
  randomBytes(n: number): Uint8Array;
  hash(alg: HashAlg, data: Uint8Array): Uint8Array;
  hmac(alg: HashAlg, key: Uint8Array, data: Uint8Array): Uint8Array;
  /** RFC 5869 HKDF (extract + expand). */
  hkdf(alg: HashAlg, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  /** X25519 key pair from 32 random bytes (or the given secret, for vectors). */
  x25519KeyPair(secretKey?: Uint8Array): KeyPair;
  /** RFC 7748 X25519. Throws ProtocolError('bad_key') when the result is all-zero (low order). */
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  readonly mlkem768: MlKem768;
  aead(alg: AeadAlg, key: Uint8Array): Aead;
  /** ECDSA verify over `message` hashed with `hash`; `signature` is raw r ‖ s. */
  ecdsaVerify(key: EcPublicKey, hash: HashAlg, message: Uint8Array, signature: Uint8Array): boolean;
  /** RSA verify (RSASSA-PSS with MGF1 using the same hash, or PKCS#1 v1.5). */
  rsaVerify(key: RsaPublicKey, params: RsaScheme, message: Uint8Array, signature: Uint8Array): boolean;
}
