/**
 * Every limit of the protocol layer, with its default, in one documented object (docs/PROTOCOL.md
 * §Limits). Handshakes and channels take `Partial<Limits>` and merge it over DEFAULT_LIMITS.
 * Protocol constants that are not negotiable (e.g. the hard per-epoch frame cap) live in
 * PROTOCOL_CONSTANTS instead.
 */
import { fail } from './errors';

export interface Limits {
  /** Largest ClientHello accepted by a server (bytes). */
  readonly maxClientHello: number;
  /** Largest ServerHello accepted by a client (bytes), evidence included. */
  readonly maxServerHello: number;
  /** Largest server info blob carried in the ServerHello core (bytes). */
  readonly maxServerInfo: number;
  /** Most evidence items in one bundle. */
  readonly maxEvidenceItems: number;
  /** Most named parts in one evidence item. */
  readonly maxEvidenceParts: number;
  /** Largest single evidence part (bytes). */
  readonly maxEvidencePartBytes: number;
  /** Largest encoded evidence bundle (bytes). */
  readonly maxEvidenceBytes: number;
  /** Most evidence kinds a client may require. */
  readonly maxRequiredEvidence: number;
  /** Largest application plaintext in one channel frame (bytes, before padding). */
  readonly maxFramePlaintext: number;
  /** A sender starts a new key epoch after this many frames in the current one. */
  readonly rekeyAfterFrames: number;
  /** A receiver refuses (rekey_required) a frame beyond this many in one epoch without a key
   *  update. At most PROTOCOL_CONSTANTS.maxFramesPerEpoch; lowering it below the peer's
   *  rekeyAfterFrames breaks sessions, so only tests and strict deployments change it. */
  readonly maxFramesPerEpoch: number;
  /** Most chat messages in one chat request. */
  readonly maxChatMessages: number;
  /** Most stop sequences in one chat request. */
  readonly maxStopSequences: number;
  /** Handshake deadline the transport enforces (milliseconds; protocol/ has no clock). */
  readonly handshakeTimeoutMs: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxClientHello: 4096,
  maxServerHello: 16 * 1024 * 1024 + 64 * 1024 + 4096,
  maxServerInfo: 64 * 1024,
  maxEvidenceItems: 32,
  maxEvidenceParts: 64,
  maxEvidencePartBytes: 4 * 1024 * 1024,
  maxEvidenceBytes: 16 * 1024 * 1024,
  maxRequiredEvidence: 8,
  maxFramePlaintext: 16 * 1024 * 1024,
  rekeyAfterFrames: 1 << 16,
  maxFramesPerEpoch: 1 << 20,
  maxChatMessages: 1024,
  maxStopSequences: 16,
  handshakeTimeoutMs: 30_000,
});

export const PROTOCOL_CONSTANTS = Object.freeze({
  /** Senders MUST rekey within this many frames per epoch; the receiver limit may not exceed it. */
  maxFramesPerEpoch: 1 << 20,
  /** Hard upper bound on rekeyAfterFrames. */
  maxRekeyAfterFrames: 1 << 20,
});

export function resolveLimits(overrides?: Partial<Limits>): Limits {
  const l = { ...DEFAULT_LIMITS, ...(overrides ?? {}) };
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isSafeInteger(v) || v <= 0) fail('usage', `limits.${k}`, 'a positive integer', v);
  }
  if (l.rekeyAfterFrames > PROTOCOL_CONSTANTS.maxRekeyAfterFrames)
    fail(
      'usage',
      'limits.rekeyAfterFrames',
      `at most ${PROTOCOL_CONSTANTS.maxRekeyAfterFrames}`,
      l.rekeyAfterFrames,
    );
  if (l.maxFramesPerEpoch > PROTOCOL_CONSTANTS.maxFramesPerEpoch)
    fail(
      'usage',
      'limits.maxFramesPerEpoch',
      `at most ${PROTOCOL_CONSTANTS.maxFramesPerEpoch}`,
      l.maxFramesPerEpoch,
    );
  return Object.freeze(l);
}
