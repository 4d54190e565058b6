/**
 * The 1-RTT attested handshake as two small state machines (docs/PROTOCOL.md §Handshake):
 *
 *   client                                   server
 *   ClientHello            ────────────────▶
 *                                            fresh X25519 key, ML-KEM encapsulation,
 *                                            th, binding values, evidence bound to th,
 *                                            keys, server_finished
 *                          ◀──────────────── ServerHello (core ‖ evidence ‖ server_finished)
 *   parse; th; binding values;
 *   every required kind present?
 *   EvidenceVerifier(items, binding) ─ not ok → ProtocolError('evidence_rejected'), no keys exist
 *   then X25519 + ML-KEM decapsulation, keys, check server_finished
 *   ClientFinished         ────────────────▶ check client_finished
 *   channel                                  channel
 *
 * The client derives no key and builds no channel before the verifier's verdict is ok: the only
 * code path that constructs a SecureChannel runs after that check.
 */
import type {
  BindingValues,
  EvidenceItem,
  EvidenceKind,
  EvidenceVerdict,
  EvidenceVerifier,
} from '../attestation/types';
import type { CryptoProvider, KeyPair } from '../crypto/provider';
import { fail, ProtocolError } from '../errors';
import { resolveLimits } from '../limits';
import type { Limits } from '../limits';
import { SecureChannel } from '../channel/channel';
import { concat, ctEqual, wipe } from '../wire/bytes';
import { encodeEvidenceBundle } from './evidence';
import { ClientEphemeralKeys, takeRandom } from './ephemeral';
import type { RandomSource } from './ephemeral';
import {
  DEFAULT_SUITES,
  SUITES,
  SUPPORTED_VERSIONS,
  decodeClientFinished,
  decodeClientHello,
  decodeServerHello,
  encodeBundleField,
  encodeClientFinished,
  encodeClientHello,
  encodeServerHelloCore,
  isSuiteId,
} from './messages';
import type { SuiteId } from './messages';
import {
  bindingValues,
  clientFinishedMac,
  deriveKeys,
  serverFinishedMac,
  transcriptHash,
} from './keys';
import type { HandshakeKeys } from './keys';

export interface EstablishedSession {
  readonly channel: SecureChannel;
  /** SHA-256 over the whole handshake (see keys.ts); use it for channel binding. */
  readonly transcriptHash: Uint8Array;
  readonly binding: BindingValues;
  /** Client side: the verifier's verdict (always ok here). */
  readonly verdict?: EvidenceVerdict;
  readonly serverInfo: Uint8Array;
  readonly evidence: readonly EvidenceItem[];
  readonly version: number;
  readonly suite: SuiteId;
}

export type { RandomSource } from './ephemeral';

function sha256(crypto: CryptoProvider, ...parts: Uint8Array[]): Uint8Array {
  return crypto.hash('SHA-256', concat(...parts));
}

function checkRequiredPresent(
  required: readonly EvidenceKind[],
  items: readonly EvidenceItem[],
  field: string,
): void {
  for (const k of required) {
    if (!items.some((i) => i.kind === k))
      fail(
        'evidence_missing',
        field,
        `an item of kind ${k}`,
        `kinds [${items.map((i) => i.kind).join(', ')}]`,
      );
  }
}

export interface ClientHandshakeOptions {
  readonly crypto: CryptoProvider;
  readonly verifier: EvidenceVerifier;
  readonly requiredEvidence: readonly EvidenceKind[];
  /** Randomness (defaults to crypto.randomBytes); inject for deterministic test vectors. */
  readonly random?: RandomSource;
  readonly limits?: Partial<Limits>;
  /** Offered suites in preference order (default AES-256-GCM, then ChaCha20-Poly1305). */
  readonly suites?: readonly SuiteId[];
  /**
   * Ephemeral key pairs generated ahead of time (ephemeral.ts: `ClientEphemeralKeys.generate` or a
   * `ClientEphemeralPool`), taking key generation off the handshake's critical path. `clientHello()`
   * takes them (refused if another handshake already did) and the handshake wipes them at its end.
   * Absent: generated in `clientHello()`.
   */
  readonly ephemeral?: ClientEphemeralKeys;
}

type ClientState = 'start' | 'wait_server_hello' | 'verifying' | 'done' | 'failed';

export class ClientHandshake {
  readonly #o: ClientHandshakeOptions;
  readonly #limits: Limits;
  readonly #random: RandomSource;
  #state: ClientState = 'start';
  #x25519: KeyPair | undefined;
  #mlkem: KeyPair | undefined;
  #hello: Uint8Array | undefined;
  #offeredSuites: readonly SuiteId[];
  readonly #ownRandom: boolean;

  constructor(o: ClientHandshakeOptions) {
    this.#o = o;
    this.#limits = resolveLimits(o.limits);
    this.#ownRandom = o.random === undefined;
    this.#random = o.random ?? ((n) => o.crypto.randomBytes(n));
    this.#offeredSuites = o.suites ?? DEFAULT_SUITES;
    for (const s of this.#offeredSuites)
      if (!isSuiteId(s)) fail('usage', 'ClientHandshake.suites', 'known suite ids', s);
  }

  get state(): ClientState {
    return this.#state;
  }

  /** Builds the ClientHello (once). Randomness is drawn in this order: X25519 secret (32),
   *  ML-KEM-768 key generation seed (64), client random (32); the first two when the key pairs are
   *  generated (here, or earlier by `ClientEphemeralKeys.generate` when `ephemeral` is given). */
  clientHello(): Uint8Array {
    if (this.#state !== 'start')
      fail('handshake_state', 'ClientHandshake.clientHello', 'state start', this.#state);
    const keys = (
      this.#o.ephemeral ??
      ClientEphemeralKeys.generate(this.#o.crypto, this.#ownRandom ? undefined : this.#random)
    ).take();
    this.#x25519 = keys.x25519;
    this.#mlkem = keys.mlkem;
    try {
      const random = takeRandom(this.#random, 32, 'random.client_random', this.#ownRandom);
      this.#hello = encodeClientHello(
        {
          versions: SUPPORTED_VERSIONS,
          suites: this.#offeredSuites,
          x25519Pub: keys.x25519.publicKey,
          mlkemEncapsulationKey: keys.mlkem.publicKey,
          random,
          requiredEvidence: this.#o.requiredEvidence,
        },
        this.#limits,
      );
    } catch (e) {
      this.#wipe(); // the pairs were taken: never left unwiped, never reused
      throw e;
    }
    this.#state = 'wait_server_hello';
    return this.#hello;
  }

  /**
   * Parses the ServerHello, asks the verifier, and only when the verdict is ok derives the keys,
   * checks the server's key confirmation and returns the ClientFinished plus the channel.
   */
  async onServerHello(
    msg: Uint8Array,
  ): Promise<{ clientFinished: Uint8Array; session: EstablishedSession }> {
    if (this.#state !== 'wait_server_hello')
      fail(
        'handshake_state',
        'ClientHandshake.onServerHello',
        'state wait_server_hello',
        this.#state,
      );
    this.#state = 'verifying';
    try {
      return await this.#onServerHello(msg);
    } catch (e) {
      this.#state = 'failed';
      throw e;
    } finally {
      this.#wipe();
    }
  }

  async #onServerHello(
    msg: Uint8Array,
  ): Promise<{ clientFinished: Uint8Array; session: EstablishedSession }> {
    const crypto = this.#o.crypto;
    const hello = this.#hello as Uint8Array;
    const sh = decodeServerHello(msg, this.#limits);
    if (!SUPPORTED_VERSIONS.includes(sh.version))
      fail(
        'version_mismatch',
        'ServerHello.version',
        `one of ${SUPPORTED_VERSIONS.join(', ')}`,
        sh.version,
      );
    if (!isSuiteId(sh.suite) || !this.#offeredSuites.includes(sh.suite))
      fail(
        'malformed',
        'ServerHello.suite',
        `one of the offered suites ${this.#offeredSuites.join(', ')}`,
        sh.suite,
      );
    const suite: SuiteId = sh.suite;
    const th = transcriptHash(crypto, hello, sh.coreBytes);
    const binding = bindingValues(crypto, th);
    checkRequiredPresent(this.#o.requiredEvidence, sh.evidence, 'ServerHello.evidence');

    // The verdict gates everything below: no shared secret is computed before it is ok.
    let verdict: EvidenceVerdict;
    try {
      verdict = await this.#o.verifier(sh.evidence, binding);
    } catch (e) {
      const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      throw new ProtocolError(
        'evidence_rejected',
        `ServerHello.evidence: expected a verdict from the verifier, got an exception (${why})`,
        'ServerHello.evidence',
      );
    }
    if (verdict?.ok !== true)
      fail(
        'evidence_rejected',
        'ServerHello.evidence',
        'a verdict with ok = true',
        `ok = false (${verdict?.summary ?? 'no summary'})`,
      );

    const x = this.#x25519 as KeyPair;
    const m = this.#mlkem as KeyPair;
    const xs = crypto.x25519(x.secretKey, sh.x25519Pub);
    const ms = crypto.mlkem768.decapsulate(sh.mlkemCiphertext, m.secretKey);
    const thE = sha256(crypto, th, sh.bundleBytes);
    const keys = deriveKeys(crypto, xs, ms, thE);
    wipe(xs, ms);
    try {
      const expected = serverFinishedMac(crypto, keys.serverFinishedKey, thE);
      if (!ctEqual(expected, sh.serverFinished))
        fail(
          'key_confirmation_failed',
          'ServerHello.server_finished',
          'the HMAC of the transcript under the server finished key',
          'a mismatch',
        );
      const thS = sha256(crypto, thE, sh.serverFinished);
      const cf = clientFinishedMac(crypto, keys.clientFinishedKey, thS);
      const channel = new SecureChannel({
        crypto,
        aead: SUITES[suite].aead,
        role: 'client',
        sendKey: keys.c2s,
        recvKey: keys.s2c,
        limits: this.#limits,
      });
      this.#state = 'done';
      return {
        clientFinished: encodeClientFinished(cf),
        session: {
          channel,
          transcriptHash: sha256(crypto, thS, cf),
          binding,
          verdict,
          serverInfo: sh.serverInfo.slice(),
          evidence: sh.evidence,
          version: sh.version,
          suite,
        },
      };
    } finally {
      wipeKeys(keys);
    }
  }

  #wipe(): void {
    wipe(this.#x25519?.secretKey, this.#mlkem?.secretKey);
  }

  /**
   * Abandons the handshake (the connection failed before the ServerHello was handled): wipes the
   * key pairs' secrets now instead of leaving them to the garbage collector. Idempotent; a later
   * `onServerHello` is refused.
   */
  dispose(): void {
    this.#wipe();
    if (this.#state !== 'done') this.#state = 'failed';
  }
}

function wipeKeys(k: HandshakeKeys): void {
  wipe(k.c2s, k.s2c, k.serverFinishedKey, k.clientFinishedKey);
}

export interface ServerHandshakeOptions {
  readonly crypto: CryptoProvider;
  /** Produces evidence bound to the binding values, covering at least the required kinds. */
  readonly collectEvidence: (
    binding: BindingValues,
    required: readonly EvidenceKind[],
  ) => Promise<EvidenceItem[]>;
  /** Opaque server info carried in the ServerHello core (protocol/messages ServerInfo encoding). */
  readonly serverInfo: Uint8Array;
  /** Randomness (defaults to crypto.randomBytes); inject for deterministic test vectors. */
  readonly random?: RandomSource;
  readonly limits?: Partial<Limits>;
  /** Suites the server accepts, in ITS preference order (default AES-256-GCM, ChaCha20-Poly1305). */
  readonly suites?: readonly SuiteId[];
}

type ServerState = 'start' | 'collecting' | 'wait_client_finished' | 'done' | 'failed';

export class ServerHandshake {
  readonly #o: ServerHandshakeOptions;
  readonly #limits: Limits;
  readonly #random: RandomSource;
  #state: ServerState = 'start';
  #pending:
    | {
        keys: HandshakeKeys;
        thS: Uint8Array;
        binding: BindingValues;
        evidence: EvidenceItem[];
        suite: SuiteId;
        version: number;
      }
    | undefined;

  readonly #ownRandom: boolean;
  #disposed = false;

  constructor(o: ServerHandshakeOptions) {
    this.#o = o;
    this.#limits = resolveLimits(o.limits);
    this.#ownRandom = o.random === undefined;
    this.#random = o.random ?? ((n) => o.crypto.randomBytes(n));
  }

  /**
   * Abandons the handshake (the connection closed, or the server dropped it, before the
   * ClientFinished): wipes the pending traffic and finished keys now. When evidence is still being
   * collected, the collection's result is discarded and its keys wiped as soon as it returns.
   * Idempotent.
   */
  dispose(): void {
    this.#disposed = true;
    if (this.#pending) wipeKeys(this.#pending.keys);
    this.#pending = undefined;
    if (this.#state !== 'done') this.#state = 'failed';
  }

  get state(): ServerState {
    return this.#state;
  }

  /** Injected randomness is drawn in this order: X25519 secret (32), ML-KEM encapsulation seed
   *  (32), server random (32). Without it the provider generates the first two itself. */
  async onClientHello(msg: Uint8Array): Promise<Uint8Array> {
    if (this.#state !== 'start')
      fail('handshake_state', 'ServerHandshake.onClientHello', 'state start', this.#state);
    this.#state = 'collecting';
    try {
      return await this.#onClientHello(msg);
    } catch (e) {
      this.#state = 'failed';
      throw e;
    }
  }

  async #onClientHello(msg: Uint8Array): Promise<Uint8Array> {
    const crypto = this.#o.crypto;
    const ch = decodeClientHello(msg, this.#limits);
    const version = Math.max(...ch.versions.filter((v) => SUPPORTED_VERSIONS.includes(v)));
    if (!Number.isFinite(version))
      fail(
        'version_mismatch',
        'ClientHello.versions',
        `one of ${SUPPORTED_VERSIONS.join(', ')}`,
        `[${ch.versions.join(', ')}]`,
      );
    const mine = this.#o.suites ?? DEFAULT_SUITES;
    const suite = mine.find((s) => ch.suites.includes(s));
    if (suite === undefined)
      fail(
        'malformed',
        'ClientHello.suites',
        `one of ${mine.join(', ')}`,
        `[${ch.suites.join(', ')}]`,
      );

    // With injected randomness (test vectors) every random input is drawn from it (and the copies
    // made here are wiped); otherwise the provider generates the X25519 pair and the ML-KEM
    // randomness itself (OpenSSL's key generation, and its encapsulation on Node >= 24).
    const own = this.#ownRandom;
    let x: KeyPair;
    if (own) x = crypto.x25519KeyPair();
    else {
      const xr = takeRandom(this.#random, 32, 'random.x25519', own);
      try {
        x = crypto.x25519KeyPair(xr);
      } finally {
        wipe(xr);
      }
    }
    const encSeed = own ? undefined : takeRandom(this.#random, 32, 'random.mlkem768', own);
    let xs: Uint8Array | undefined;
    let ms: Uint8Array | undefined;
    let serverRandom: Uint8Array | undefined;
    try {
      xs = crypto.x25519(x.secretKey, ch.x25519Pub);
      const enc = crypto.mlkem768.encapsulate(ch.mlkemEncapsulationKey, encSeed);
      ms = enc.sharedSecret;
      const core = encodeServerHelloCore(
        {
          version,
          suite,
          x25519Pub: x.publicKey,
          mlkemCiphertext: enc.cipherText,
          random: (serverRandom = takeRandom(this.#random, 32, 'random.server_random', own)),
          serverInfo: this.#o.serverInfo,
        },
        this.#limits,
      );
      const th = transcriptHash(crypto, msg, core);
      const binding = bindingValues(crypto, th);
      const evidence = await this.#o.collectEvidence(binding, ch.requiredEvidence);
      // Abandoned while the evidence was collected: derive nothing (the finally wipes the rest).
      if (this.#disposed)
        fail('handshake_state', 'ServerHandshake', 'a live handshake', 'abandoned');
      checkRequiredPresent(ch.requiredEvidence, evidence, 'collectEvidence');
      const bundleField = encodeBundleField(
        encodeEvidenceBundle(evidence, this.#limits),
        this.#limits,
      );
      const thE = sha256(crypto, th, bundleField);
      const keys = deriveKeys(crypto, xs, ms, thE);
      const sf = serverFinishedMac(crypto, keys.serverFinishedKey, thE);
      const out = concat(core, bundleField, sf);
      if (out.length > this.#limits.maxServerHello) {
        wipeKeys(keys);
        fail(
          'too_large',
          'ServerHello',
          `at most ${this.#limits.maxServerHello} bytes`,
          `${out.length} bytes`,
        );
      }
      this.#pending = { keys, thS: sha256(crypto, thE, sf), binding, evidence, suite, version };
      this.#state = 'wait_client_finished';
      return out;
    } finally {
      wipe(x.secretKey, encSeed, xs, ms, serverRandom);
    }
  }

  onClientFinished(msg: Uint8Array): EstablishedSession {
    if (this.#state !== 'wait_client_finished' || !this.#pending)
      fail(
        'handshake_state',
        'ServerHandshake.onClientFinished',
        'state wait_client_finished',
        this.#state,
      );
    const p = this.#pending;
    this.#pending = undefined;
    const crypto = this.#o.crypto;
    try {
      const cf = decodeClientFinished(msg);
      const expected = clientFinishedMac(crypto, p.keys.clientFinishedKey, p.thS);
      if (!ctEqual(expected, cf))
        fail(
          'key_confirmation_failed',
          'ClientFinished.client_finished',
          'the HMAC of the transcript under the client finished key',
          'a mismatch',
        );
      const channel = new SecureChannel({
        crypto,
        aead: SUITES[p.suite].aead,
        role: 'server',
        sendKey: p.keys.s2c,
        recvKey: p.keys.c2s,
        limits: this.#limits,
      });
      this.#state = 'done';
      return {
        channel,
        transcriptHash: sha256(crypto, p.thS, cf),
        binding: p.binding,
        serverInfo: this.#o.serverInfo,
        evidence: p.evidence,
        version: p.version,
        suite: p.suite,
      };
    } catch (e) {
      this.#state = 'failed';
      throw e;
    } finally {
      wipeKeys(p.keys);
    }
  }
}
