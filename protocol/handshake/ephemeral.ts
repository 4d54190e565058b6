/**
 * Client ephemeral key pairs generated ahead of the handshake (off its critical path).
 *
 * The client's X25519 and ML-KEM-768 key pairs do not depend on anything the server sends, so they
 * can be generated while the client is idle (e.g. right after the previous handshake) and handed
 * to the next `ClientHandshake`. Nothing about their use changes: every pair is fresh per session,
 * used by exactly one handshake (a second `take` is refused), and wiped when that handshake ends.
 * What does change is how long a secret key lives in memory before use; the pool bounds that
 * (`maxAgeMs`) and wipes what it discards.
 *
 * Randomness is drawn in the handshake's order (X25519 secret 32, ML-KEM-768 seed 64), so a
 * handshake with pre-generated keys and the same random source yields the same bytes as one
 * without (test/unit/protocol-handshake-ephemeral.test.ts).
 */
import type { CryptoProvider, KeyPair } from '../crypto/provider';
import { fail } from '../errors';
import { wipe } from '../wire/bytes';

export type RandomSource = (n: number) => Uint8Array;

/**
 * `n` bytes from `random`, as a copy the caller owns (and wipes). `ownsSource`: the source's
 * buffer is fresh and referenced nowhere else (crypto.randomBytes), so it is wiped here; an
 * injected source (test vectors) keeps its buffers.
 */
export function takeRandom(
  random: RandomSource,
  n: number,
  field: string,
  ownsSource = false,
): Uint8Array {
  const b = random(n);
  if (!(b instanceof Uint8Array) || b.length !== n)
    fail('usage', field, `${n} random bytes`, b?.length);
  const copy = b.slice();
  if (ownsSource) wipe(b);
  return copy;
}

export interface ClientKeyPairs {
  readonly x25519: KeyPair;
  readonly mlkem: KeyPair;
}

/** One client's single-use ephemeral key pairs (X25519 + ML-KEM-768). */
export class ClientEphemeralKeys {
  /** When they were generated (the pool's clock; 0 when generated outside a pool). */
  readonly createdAt: number;
  #keys: ClientKeyPairs | undefined;
  #state: 'fresh' | 'taken' | 'wiped' = 'fresh';

  private constructor(keys: ClientKeyPairs, createdAt: number) {
    this.#keys = keys;
    this.createdAt = createdAt;
  }

  /** Generates both pairs now. Inject `random` for vectors; without it the provider generates
   *  the X25519 pair itself (OpenSSL's key generation: no import of a freshly drawn secret). */
  static generate(
    crypto: CryptoProvider,
    random?: RandomSource,
    createdAt = 0,
  ): ClientEphemeralKeys {
    const own = random === undefined;
    const src: RandomSource = random ?? ((n) => crypto.randomBytes(n));
    // Without injected randomness the provider generates the X25519 pair itself (the Node
    // provider: OpenSSL's key generation, no import of a freshly drawn secret). With it, the
    // provider copies the drawn secret into the pair and the copy made here is wiped at once; the
    // ML-KEM seed d‖z likewise (and the source's buffer when it is ours).
    let x25519: KeyPair;
    if (own) x25519 = crypto.x25519KeyPair();
    else {
      const xr = takeRandom(src, 32, 'random.x25519', own);
      try {
        x25519 = crypto.x25519KeyPair(xr);
      } finally {
        wipe(xr);
      }
    }
    const seed = takeRandom(src, 64, 'random.mlkem768', own);
    let mlkem: KeyPair;
    try {
      mlkem = crypto.mlkem768.keygen(seed);
    } catch (e) {
      wipe(x25519.secretKey);
      throw e;
    } finally {
      wipe(seed);
    }
    return new ClientEphemeralKeys({ x25519, mlkem }, createdAt);
  }

  /** 'fresh' until a handshake takes them; 'wiped' after `wipe()` (by the pool or the owner). */
  get state(): 'fresh' | 'taken' | 'wiped' {
    return this.#state;
  }

  /**
   * Hands the pairs to one handshake, which then owns (and wipes) them. Refused once taken or
   * wiped: a key pair is never used for two sessions.
   */
  take(): ClientKeyPairs {
    if (this.#state !== 'fresh' || this.#keys === undefined)
      fail('usage', 'ClientEphemeralKeys', 'fresh (unused) key pairs', this.#state);
    const k = this.#keys;
    this.#keys = undefined;
    this.#state = 'taken';
    return k;
  }

  /** Wipes the secret keys of pairs that were never taken (taken pairs belong to the handshake). */
  wipe(): void {
    if (this.#keys !== undefined) wipe(this.#keys.x25519.secretKey, this.#keys.mlkem.secretKey);
    this.#keys = undefined;
    if (this.#state === 'fresh') this.#state = 'wiped';
  }
}

export interface ClientEphemeralPoolOptions {
  readonly crypto: CryptoProvider;
  /** Runs `fn` later, when the caller is idle (Node: `(fn) => setImmediate(fn)`; browser: setTimeout). */
  readonly schedule: (fn: () => void) => void;
  /** How many pairs to keep ready (default 1: the next session's). */
  readonly size?: number;
  /** Pairs older than this are wiped and discarded instead of used (default 10 minutes). */
  readonly maxAgeMs?: number;
  /** Clock in ms (default Date.now). */
  readonly now?: () => number;
}

/**
 * Keeps the next session's ephemeral key pairs ready. `take()` returns a ready, unexpired entry or
 * generates one on the spot, then schedules a refill for idle time. `dispose()` wipes the rest.
 */
export class ClientEphemeralPool {
  readonly #o: ClientEphemeralPoolOptions;
  readonly #size: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #ready: ClientEphemeralKeys[] = [];
  #refillScheduled = false;
  #disposed = false;

  constructor(o: ClientEphemeralPoolOptions) {
    const size = o.size ?? 1;
    const maxAgeMs = o.maxAgeMs ?? 600_000;
    if (!Number.isInteger(size) || size < 1 || size > 16)
      fail('usage', 'ClientEphemeralPool.size', '1..16', size);
    if (!Number.isFinite(maxAgeMs) || maxAgeMs <= 0)
      fail('usage', 'ClientEphemeralPool.maxAgeMs', 'a positive number', maxAgeMs);
    this.#o = o;
    this.#size = size;
    this.#maxAgeMs = maxAgeMs;
    this.#now = o.now ?? (() => Date.now());
  }

  /** Ready (generated, unexpired as of the last check) entries. */
  get ready(): number {
    return this.#ready.length;
  }

  /** Fresh key pairs for one handshake; schedules the refill. */
  take(): ClientEphemeralKeys {
    if (this.#disposed) fail('usage', 'ClientEphemeralPool', 'a live pool', 'disposed');
    this.#dropExpired();
    const k = this.#ready.shift() ?? this.#generate();
    this.#scheduleRefill();
    return k;
  }

  /** Generates until `size` entries are ready (what the scheduled refill runs). */
  refill(): void {
    this.#refillScheduled = false;
    if (this.#disposed) return;
    this.#dropExpired();
    while (this.#ready.length < this.#size) this.#ready.push(this.#generate());
  }

  /** Wipes every ready entry; later `take` calls are refused and scheduled refills do nothing. */
  dispose(): void {
    this.#disposed = true;
    for (const k of this.#ready.splice(0)) k.wipe();
  }

  #generate(): ClientEphemeralKeys {
    return ClientEphemeralKeys.generate(this.#o.crypto, undefined, this.#now());
  }

  #dropExpired(): void {
    const now = this.#now();
    for (let i = this.#ready.length - 1; i >= 0; i--) {
      const k = this.#ready[i]!;
      if (now - k.createdAt > this.#maxAgeMs || now < k.createdAt) {
        k.wipe();
        this.#ready.splice(i, 1);
      }
    }
  }

  #scheduleRefill(): void {
    if (this.#refillScheduled || this.#disposed) return;
    this.#refillScheduled = true;
    this.#o.schedule(() => this.refill());
  }
}
