/**
 * The Node.js (OpenSSL) CryptoProvider: the hot path on the extension host and the server.
 * It must produce exactly the bytes the pure noble provider produces (test/unit/crypto-providers.test.ts).
 *
 * - AEAD: node:crypto AES-256-GCM / ChaCha20-Poly1305 with a cached secret KeyObject per key.
 * - X25519: raw keys are imported as JWK objects (OKP/X25519) and combined with `diffieHellman`;
 *   the public key is computed as X25519(sk, 9), so no key is ever exported (the Node 20
 *   generateKeyPairSync + JWK export hang cannot occur). JWK rather than DER import: on Node 20 /
 *   OpenSSL 3.0 importing a PKCS#8 DER X25519 key costs ~360 µs (the OpenSSL decoder framework),
 *   a JWK ~40 µs. A private JWK needs an `x` member; OpenSSL builds the key from `d` alone and
 *   derives the public half itself, so `x` is a placeholder here. Wycheproof and the cross-provider
 *   tests run through this path, so a Node that started to check `x` would fail them loudly.
 * - ECDSA / RSA verification: public keys imported from JWK objects built from the raw point or
 *   n/e, cached (bounded LRU). Signatures are IEEE P1363 (r ‖ s). Never throws on bad input.
 * - ML-KEM-768: OpenSSL's where Node has it (Node ≥ 24 with OpenSSL ≥ 3.5: `crypto.encapsulate` /
 *   `decapsulate`, feature-detected once), else the noble implementation (Node 20's OpenSSL 3.0
 *   has none). Native: encapsulation ~0.07 ms and decapsulation ~0.09 ms (key import included)
 *   against ~0.55 / ~0.67 ms in JS. Key generation stays on noble everywhere: Node cannot export
 *   the 2,400-byte FIPS 203 decapsulation key the interface carries (only the 64-byte seed), and
 *   the client generates its pair off the critical path (protocol/handshake/ephemeral.ts).
 *   Seeded calls (test vectors) and keys OpenSSL refuses to import go to noble, so verdicts and
 *   errors stay exactly noble's. Same bytes either way (FIPS 203 is deterministic given the key
 *   and, for encapsulation, the randomness; test/unit/crypto-node-mlkem-native.test.ts).
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  randomBytes,
  verify as nodeVerify,
} from 'node:crypto';
import * as nodeCrypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  AEAD_NONCE_LEN,
  AEAD_TAG_LEN,
  MLKEM768,
  X25519_LEN,
  checkAeadKey,
  checkLen,
  checkX25519Args,
  nobleMlKem768,
  rejectZeroShared,
} from '../protocol/crypto/noble';
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
} from '../protocol/crypto/provider';
import { HASH_LEN, RSA_LIMITS } from '../protocol/crypto/rsa';
import { fail } from '../protocol/errors';

const NODE_HASH: Record<HashAlg, string> = {
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
};

function nodeHash(alg: HashAlg): string {
  const h = NODE_HASH[alg];
  if (!h) fail('crypto_unsupported', 'hash', 'SHA-256 | SHA-384 | SHA-512', alg);
  return h;
}

/** A view of a Buffer as a plain Uint8Array (no copy), so callers never see Buffer methods. */
function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const X25519_BASEPOINT = new Uint8Array(32);
X25519_BASEPOINT[0] = 9;
const ZERO_X = Buffer.alloc(32).toString('base64url');
let basepointKey: KeyObject | undefined;

function x25519PublicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(raw) }, format: 'jwk' });
}

function x25519Node(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  checkX25519Args(secretKey, publicKey);
  let shared: Uint8Array;
  try {
    const privateKey = createPrivateKey({
      key: { kty: 'OKP', crv: 'X25519', d: b64url(secretKey), x: ZERO_X },
      format: 'jwk',
    });
    const isBase = publicKey.every((b, i) => b === X25519_BASEPOINT[i]);
    const pub = isBase
      ? (basepointKey ??= x25519PublicKeyObject(X25519_BASEPOINT))
      : x25519PublicKeyObject(publicKey);
    shared = u8(diffieHellman({ privateKey, publicKey: pub }));
  } catch {
    // OpenSSL refuses the all-zero result (low-order point): same outcome as noble.
    shared = new Uint8Array(X25519_LEN);
  }
  return rejectZeroShared(shared);
}

class NodeAead implements Aead {
  readonly alg: AeadAlg;
  readonly #cipher: 'aes-256-gcm' | 'chacha20-poly1305';
  // A raw key Buffer: createCipheriv with a Buffer key measured faster than with a KeyObject.
  readonly #key: Buffer;
  constructor(alg: AeadAlg, key: Uint8Array) {
    checkAeadKey(alg, key);
    this.alg = alg;
    this.#cipher = alg;
    // A view, not a copy: whoever owns the key (the channel) wipes it, and this instance with it.
    this.#key = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  }
  #begin(nonce: Uint8Array, aad: Uint8Array) {
    checkLen('aead.nonce', nonce, AEAD_NONCE_LEN);
    const c = createCipheriv(this.#cipher as 'aes-256-gcm', this.#key, nonce, {
      authTagLength: AEAD_TAG_LEN,
    });
    c.setAAD(aad);
    return c;
  }
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    const c = this.#begin(nonce, aad);
    const body = c.update(plaintext);
    const fin = c.final();
    const out = new Uint8Array(plaintext.length + AEAD_TAG_LEN);
    out.set(body);
    if (fin.length > 0) out.set(fin, body.length);
    out.set(c.getAuthTag(), plaintext.length);
    return out;
  }
  sealInPlace(nonce: Uint8Array, data: Uint8Array, aad: Uint8Array): Uint8Array {
    const c = this.#begin(nonce, aad);
    const body = c.update(data);
    const fin = c.final();
    data.set(body);
    if (fin.length > 0) data.set(fin, body.length);
    return u8(c.getAuthTag());
  }
  open(nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null {
    if (!(ciphertext instanceof Uint8Array) || ciphertext.length < AEAD_TAG_LEN) return null;
    if (!(nonce instanceof Uint8Array) || nonce.length !== AEAD_NONCE_LEN) return null;
    try {
      const ctLen = ciphertext.length - AEAD_TAG_LEN;
      const d = createDecipheriv(this.#cipher as 'aes-256-gcm', this.#key, nonce, {
        authTagLength: AEAD_TAG_LEN,
      });
      d.setAuthTag(ciphertext.subarray(ctLen));
      d.setAAD(aad);
      const body = d.update(ciphertext.subarray(0, ctLen));
      const fin = d.final(); // throws when the tag does not verify
      if (fin.length === 0) return u8(body);
      const out = new Uint8Array(body.length + fin.length);
      out.set(body);
      out.set(fin, body.length);
      return out;
    } catch {
      return null;
    }
  }
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

/** Small LRU of imported public keys (keyed by their bytes), so repeated verifications are cheap. */
class KeyCache {
  readonly #map = new Map<string, KeyObject | null>();
  constructor(private readonly max: number) {}
  get(id: string, make: () => KeyObject): KeyObject | null {
    if (this.#map.has(id)) {
      const v = this.#map.get(id) ?? null;
      this.#map.delete(id);
      this.#map.set(id, v);
      return v;
    }
    let v: KeyObject | null;
    try {
      v = make();
    } catch {
      v = null; // invalid key: remember the verdict too
    }
    this.#map.set(id, v);
    if (this.#map.size > this.max) {
      const first = this.#map.keys().next();
      if (!first.done) this.#map.delete(first.value);
    }
    return v;
  }
}

/** Node ≥ 24 KEM functions (absent from Node 20's types and runtime). */
interface NodeKem {
  encapsulate(key: KeyObject): { sharedKey: Buffer; ciphertext: Buffer };
  decapsulate(key: KeyObject, ciphertext: Uint8Array): Buffer;
}

let nativeKem: NodeKem | null | undefined;
/** The runtime's ML-KEM-768, or null (probed once: the functions exist and a key pair can be made). */
export function nodeKem(): NodeKem | null {
  if (nativeKem !== undefined) return nativeKem;
  const c = nodeCrypto as unknown as Partial<NodeKem>;
  nativeKem = null;
  if (typeof c.encapsulate === 'function' && typeof c.decapsulate === 'function') {
    try {
      (nodeCrypto.generateKeyPairSync as (t: string) => unknown)('ml-kem-768');
      nativeKem = { encapsulate: c.encapsulate, decapsulate: c.decapsulate };
    } catch {
      nativeKem = null;
    }
  }
  return nativeKem;
}

// PKCS#8 for an ML-KEM-768 decapsulation key in the expandedKey form (draft-ietf-lamps-kyber-
// certificates: OneAsymmetricKey v0, id-alg-ml-kem-768 = 2.16.840.1.101.3.4.4.2, privateKey =
// OCTET STRING { OCTET STRING (2400) }).
const MLKEM768_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x82, 0x09, 0x78, 0x02, 0x01, 0x00, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
  0x03, 0x04, 0x04, 0x02, 0x04, 0x82, 0x09, 0x64, 0x04, 0x82, 0x09, 0x60,
]);

/** How many ML-KEM operations took the native path (tests check the path is really used). */
export const mlkemNativeCalls = { encapsulate: 0, decapsulate: 0 };

function nativeOrNobleMlKem768(): MlKem768 {
  return {
    keygen: (seed) => nobleMlKem768.keygen(seed),
    encapsulate(publicKey, seed) {
      const kem = seed === undefined ? nodeKem() : null;
      if (
        kem === null ||
        !(publicKey instanceof Uint8Array) ||
        publicKey.length !== MLKEM768.publicKey
      )
        return nobleMlKem768.encapsulate(publicKey, seed);
      let key: KeyObject;
      try {
        key = createPublicKey({
          key: Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength),
          format: 'raw-public',
          asymmetricKeyType: 'ml-kem-768',
        } as unknown as Parameters<typeof createPublicKey>[0]);
      } catch {
        return nobleMlKem768.encapsulate(publicKey); // noble's verdict and typed error
      }
      const r = kem.encapsulate(key);
      mlkemNativeCalls.encapsulate++;
      return { cipherText: u8(r.ciphertext), sharedSecret: u8(r.sharedKey) };
    },
    decapsulate(cipherText, secretKey) {
      const kem = nodeKem();
      if (
        kem === null ||
        !(cipherText instanceof Uint8Array) ||
        cipherText.length !== MLKEM768.cipherText ||
        !(secretKey instanceof Uint8Array) ||
        secretKey.length !== MLKEM768.secretKey
      )
        return nobleMlKem768.decapsulate(cipherText, secretKey);
      const der = new Uint8Array(MLKEM768_PKCS8_PREFIX.length + secretKey.length);
      der.set(MLKEM768_PKCS8_PREFIX);
      der.set(secretKey, MLKEM768_PKCS8_PREFIX.length);
      let key: KeyObject;
      try {
        key = createPrivateKey({ key: Buffer.from(der.buffer), format: 'der', type: 'pkcs8' });
      } catch {
        return nobleMlKem768.decapsulate(cipherText, secretKey);
      } finally {
        der.fill(0); // the copy of the secret key
      }
      const shared = u8(kem.decapsulate(key, cipherText));
      mlkemNativeCalls.decapsulate++;
      return shared;
    },
  };
}

const EC_SIZE = { 'P-256': 32, 'P-384': 48 } as const;

export function createNodeProvider(opts: { keyCacheSize?: number } = {}): CryptoProvider {
  const keys = new KeyCache(opts.keyCacheSize ?? 256);

  function ecdsaVerify(
    key: EcPublicKey,
    hash: HashAlg,
    message: Uint8Array,
    signature: Uint8Array,
  ): boolean {
    try {
      const size = EC_SIZE[key.curve];
      if (!size || !NODE_HASH[hash]) return false;
      if (
        !(key.point instanceof Uint8Array) ||
        key.point.length !== 1 + 2 * size ||
        key.point[0] !== 0x04
      )
        return false;
      if (!(signature instanceof Uint8Array) || signature.length !== 2 * size) return false;
      const point = key.point;
      const ko = keys.get(`ec:${key.curve}:${b64url(point)}`, () =>
        createPublicKey({
          key: {
            kty: 'EC',
            crv: key.curve,
            x: b64url(point.subarray(1, 1 + size)),
            y: b64url(point.subarray(1 + size)),
          },
          format: 'jwk',
        }),
      );
      if (!ko) return false;
      return nodeVerify(nodeHash(hash), message, { key: ko, dsaEncoding: 'ieee-p1363' }, signature);
    } catch {
      return false;
    }
  }

  function rsaVerify(
    key: RsaPublicKey,
    params: RsaScheme,
    message: Uint8Array,
    signature: Uint8Array,
  ): boolean {
    try {
      // The same key-shape rules as the pure verifier, so both providers accept the same keys.
      const info = rsaKeyShape(key);
      if (!info || !NODE_HASH[params.hash]) return false;
      if (!(signature instanceof Uint8Array) || signature.length !== info.k) return false;
      if (
        params.scheme === 'pss' &&
        (!Number.isInteger(params.saltLength) || params.saltLength < 0)
      )
        return false;
      if (params.scheme !== 'pss' && params.scheme !== 'pkcs1v15') return false;
      const ko = keys.get(`rsa:${b64url(key.n)}:${b64url(key.e)}`, () =>
        createPublicKey({
          key: { kty: 'RSA', n: b64url(stripZeros(key.n)), e: b64url(stripZeros(key.e)) },
          format: 'jwk',
        }),
      );
      if (!ko) return false;
      if (params.scheme === 'pss') {
        // OpenSSL needs emLen ≥ hLen + sLen + 2; it reports an error instead of "false" otherwise.
        if (Math.ceil((info.modBits - 1) / 8) < HASH_LEN[params.hash] + params.saltLength + 2)
          return false;
        return nodeVerify(
          nodeHash(params.hash),
          message,
          { key: ko, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: params.saltLength },
          signature,
        );
      }
      return nodeVerify(
        nodeHash(params.hash),
        message,
        { key: ko, padding: constants.RSA_PKCS1_PADDING },
        signature,
      );
    } catch {
      return false;
    }
  }

  return {
    name: 'node',
    randomBytes: (n: number) => u8(randomBytes(n)),
    hash: (alg, data) => u8(createHash(nodeHash(alg)).update(data).digest()),
    hmac: (alg, key, data) => u8(createHmac(nodeHash(alg), key).update(data).digest()),
    hkdf: (alg, ikm, salt, info, length) => {
      const max = 255 * HASH_LEN[alg];
      if (!Number.isInteger(length) || length < 0 || length > max)
        fail('usage', 'hkdf.length', `0..${max}`, length);
      if (length === 0) return new Uint8Array(0);
      return new Uint8Array(hkdfSync(nodeHash(alg), ikm, salt, info, length));
    },
    x25519KeyPair(secretKey?: Uint8Array): KeyPair {
      const sk = secretKey ? secretKey.slice() : u8(randomBytes(X25519_LEN));
      checkLen('x25519.secretKey', sk, X25519_LEN);
      return { secretKey: sk, publicKey: x25519Node(sk, X25519_BASEPOINT) };
    },
    x25519: x25519Node,
    mlkem768: nativeOrNobleMlKem768(),
    aead: (alg, key) => new NodeAead(alg, key),
    ecdsaVerify,
    rsaVerify,
  };
}

function bitLen8(b: number): number {
  return b === 0 ? 0 : 32 - Math.clz32(b);
}

/** Big-endian bytes → bit length (leading zero bytes ignored). */
function bitLength(b: Uint8Array): number {
  const s = stripZeros(b);
  return s.length === 0 ? 0 : (s.length - 1) * 8 + bitLen8(s[0]!);
}

/**
 * The pure verifier's key-shape rules (`rsaKeyInfo` in protocol/crypto/rsa.ts: odd modulus within
 * RSA_LIMITS, odd exponent ≥ 3, < n, at most maxExponentBits) on the bytes directly: no BigInt
 * conversion of a 4096-bit modulus on the hot path (~0.3 ms cold). Same verdicts and modBits/k
 * (test/unit/crypto-node-rsa-shape.test.ts compares the two on random and edge-case keys).
 */
export function rsaKeyShape(key: RsaPublicKey): { modBits: number; k: number } | null {
  if (!(key.n instanceof Uint8Array) || !(key.e instanceof Uint8Array)) return null;
  const n = stripZeros(key.n);
  const e = stripZeros(key.e);
  const modBits = bitLength(n);
  if (modBits < RSA_LIMITS.minModulusBits || modBits > RSA_LIMITS.maxModulusBits) return null;
  const eBits = bitLength(e);
  if ((n[n.length - 1]! & 1) === 0 || eBits < 2 || (e[e.length - 1]! & 1) === 0) return null;
  if (eBits === 2 && e[e.length - 1]! < 3) return null;
  if (eBits >= modBits) {
    // e ≥ n? Equal bit lengths: compare the (zero-stripped, equally long) bytes.
    if (eBits > modBits) return null;
    let cmp = 0;
    for (let i = 0; i < n.length && cmp === 0; i++) cmp = e[i]! - n[i]!;
    if (cmp >= 0) return null;
  }
  if (eBits > RSA_LIMITS.maxExponentBits) return null;
  return { modBits, k: Math.ceil(modBits / 8) };
}

function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

export const nodeProvider: CryptoProvider = createNodeProvider();
