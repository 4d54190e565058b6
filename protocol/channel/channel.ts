/**
 * The secure channel (docs/PROTOCOL.md §Channel). One frame per transport message:
 *
 *   offset size field
 *   0      1    version            = 1
 *   1      1    type               1 = data, 2 = close
 *   2      1    direction          1 = client→server, 2 = server→client
 *   3      1    flags              bit 0 = key_update (the sender's next frame uses epoch+1); others 0
 *   4      4    epoch   (u32 BE)   key epoch, 0 after the handshake
 *   8      8    seq     (u64 BE)   per-direction frame counter, 0-based, never reset
 *   16     n    AEAD(key[dir][epoch], nonce, padded body, aad = bytes 0..15), n = bucket + 16
 *
 *   nonce (12 bytes) = u32 BE direction ‖ u64 BE seq
 *
 * Receiving is strict: each failure has its own code and is fatal for the receive direction
 * (every later `open` reports `channel_closed`, except the `reorder` diagnosis below).
 * Checks run in this order: frame length (truncated / too_large), version, type, flags,
 * direction, epoch, body length (bad_length), AEAD (decrypt_failed), then — on an authenticated
 * frame, so the sequence number is genuine — seq < expected → replay; seq > expected → gap; after
 * a gap, a genuine frame with expected ≤ seq < the one that caused the gap → reorder; then the
 * per-epoch cap (rekey_required) and the padding (bad_padding).
 */
import { fail, ProtocolError } from '../errors';
import type { ProtocolErrorCode } from '../errors';
import type { Aead, AeadAlg, CryptoProvider } from '../crypto/provider';
import { ascii, concat, wipe } from '../wire/bytes';
import { resolveLimits } from '../limits';
import type { Limits } from '../limits';
import { isBucketLength, paddedLength, unpad, writePadded } from './padding';

export const FRAME_VERSION = 1;
export const FRAME_HEADER_LEN = 16;
export const FRAME_TAG_LEN = 16;
export const FRAME_TYPE = { data: 1, close: 2 } as const;
export const FLAG_KEY_UPDATE = 0x01;
export const DIRECTION = { clientToServer: 1, serverToClient: 2 } as const;
export const KEY_UPDATE_LABEL = 'teechat/v1 key update';

export type Role = 'client' | 'server';
export type FrameKind = 'data' | 'close';

export interface ChannelOptions {
  readonly crypto: CryptoProvider;
  readonly aead: AeadAlg;
  readonly role: Role;
  /** 32-byte key for the frames this side sends (epoch 0). Copied; wipe yours. */
  readonly sendKey: Uint8Array;
  /** 32-byte key for the frames this side receives (epoch 0). Copied; wipe yours. */
  readonly recvKey: Uint8Array;
  readonly limits?: Partial<Limits>;
}

/** Derives the key of the next epoch: HKDF-SHA256(ikm = key, salt = "", info = label ‖ u32 epoch). */
export function nextEpochKey(
  crypto: CryptoProvider,
  key: Uint8Array,
  newEpoch: number,
): Uint8Array {
  const info = concat(ascii(KEY_UPDATE_LABEL), u32(newEpoch));
  return crypto.hkdf('SHA-256', key, new Uint8Array(0), info, 32);
}

function u32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

interface Direction {
  dir: number;
  epoch: number;
  key: Uint8Array;
  aead: Aead;
  /** Next sequence number to send / expected to receive. */
  seq: number;
  framesInEpoch: number;
  /** Scratch nonce (u32 BE direction ‖ u64 BE seq), rewritten per frame: no per-frame allocation. */
  readonly nonce: Uint8Array;
}

export class SecureChannel {
  readonly role: Role;
  readonly aeadAlg: AeadAlg;
  readonly limits: Limits;
  readonly #crypto: CryptoProvider;
  readonly #send: Direction;
  readonly #recv: Direction;
  #closed = false;
  #peerClosed = false;
  #failure: ProtocolError | undefined;
  /** After a gap: the seq that revealed it (for the reorder diagnosis). */
  #gapSeq = -1;
  #zeroized = false;

  constructor(o: ChannelOptions) {
    this.role = o.role;
    this.aeadAlg = o.aead;
    this.limits = resolveLimits(o.limits);
    this.#crypto = o.crypto;
    const out = o.role === 'client' ? DIRECTION.clientToServer : DIRECTION.serverToClient;
    const inn = o.role === 'client' ? DIRECTION.serverToClient : DIRECTION.clientToServer;
    const mk = (dir: number, key: Uint8Array): Direction => {
      if (!(key instanceof Uint8Array) || key.length !== 32)
        fail('bad_length', 'channel.key', '32 bytes', key?.length);
      const k = key.slice();
      const nonce = new Uint8Array(12);
      nonce[3] = dir;
      return {
        dir,
        epoch: 0,
        key: k,
        aead: o.crypto.aead(o.aead, k),
        seq: 0,
        framesInEpoch: 0,
        nonce,
      };
    };
    this.#send = mk(out, o.sendKey);
    this.#recv = mk(inn, o.recvKey);
  }

  /** True once this side has sent its close frame (no more seal). */
  get isClosed(): boolean {
    return this.#closed;
  }
  /** True once the peer's authenticated close frame has been opened. */
  get peerClosed(): boolean {
    return this.#peerClosed;
  }
  /** The error that ended the receive direction, if any. */
  get failure(): ProtocolError | undefined {
    return this.#failure;
  }
  get sendEpoch(): number {
    return this.#send.epoch;
  }
  get recvEpoch(): number {
    return this.#recv.epoch;
  }
  get sendSeq(): number {
    return this.#send.seq;
  }
  get recvSeq(): number {
    return this.#recv.seq;
  }

  /** Seals one application message into one frame. */
  seal(plaintext: Uint8Array): Uint8Array {
    return this.#seal(FRAME_TYPE.data, plaintext);
  }

  /** The authenticated close frame; after it, `seal` refuses (channel_closed). */
  close(): Uint8Array {
    const f = this.#seal(FRAME_TYPE.close, new Uint8Array(0));
    this.#closed = true;
    return f;
  }

  #seal(type: number, plaintext: Uint8Array): Uint8Array {
    if (this.#zeroized) fail('channel_closed', 'channel', 'a live channel', 'zeroized');
    if (this.#closed)
      fail('channel_closed', 'channel.seal', 'an open channel', 'closed by this side');
    if (!(plaintext instanceof Uint8Array))
      fail('malformed', 'channel.seal.plaintext', 'a Uint8Array', typeof plaintext);
    if (plaintext.length > this.limits.maxFramePlaintext)
      fail(
        'too_large',
        'channel.seal.plaintext',
        `at most ${this.limits.maxFramePlaintext} bytes`,
        `${plaintext.length} bytes`,
      );
    const s = this.#send;
    const keyUpdate =
      type === FRAME_TYPE.data && s.framesInEpoch + 1 >= this.limits.rekeyAfterFrames;
    const bodyLen = paddedLength(plaintext.length);
    const frame = new Uint8Array(FRAME_HEADER_LEN + bodyLen + FRAME_TAG_LEN);
    frame[0] = FRAME_VERSION;
    frame[1] = type;
    frame[2] = s.dir;
    frame[3] = keyUpdate ? FLAG_KEY_UPDATE : 0;
    writeU32(frame, 4, s.epoch);
    writeU64(frame, 8, s.seq);
    const header = frame.subarray(0, FRAME_HEADER_LEN);
    const body = frame.subarray(FRAME_HEADER_LEN, FRAME_HEADER_LEN + bodyLen);
    writePadded(body, 0, plaintext);
    const nonce = nonceFor(s.nonce, frame);
    if (s.aead.sealInPlace) {
      frame.set(s.aead.sealInPlace(nonce, body, header), FRAME_HEADER_LEN + bodyLen);
    } else {
      frame.set(s.aead.seal(nonce, body, header), FRAME_HEADER_LEN);
    }
    s.seq++;
    s.framesInEpoch++;
    if (keyUpdate) this.#advance(s);
    return frame;
  }

  #advance(d: Direction): void {
    const next = nextEpochKey(this.#crypto, d.key, d.epoch + 1);
    wipe(d.key);
    d.key = next;
    d.aead = this.#crypto.aead(this.aeadAlg, next);
    d.epoch++;
    d.framesInEpoch = 0;
  }

  /** Opens a data frame and returns its plaintext (a view). A close frame returns an empty array
   *  and sets `peerClosed`; use `openFrame` to tell the two apart. Throws ProtocolError. */
  open(frame: Uint8Array): Uint8Array {
    return this.openFrame(frame).plaintext;
  }

  openFrame(frame: Uint8Array): { kind: FrameKind; plaintext: Uint8Array } {
    if (this.#zeroized) fail('channel_closed', 'channel', 'a live channel', 'zeroized');
    if (this.#failure && this.#failure.code !== 'gap') this.#dead();
    if (this.#peerClosed)
      fail('channel_closed', 'channel.open', 'no frame after the peer closed', 'a frame');
    try {
      return this.#open(frame);
    } catch (e) {
      if (!this.#failure && e instanceof ProtocolError) this.#failure = e;
      throw e;
    }
  }

  #dead(): never {
    const f = this.#failure as ProtocolError;
    throw new ProtocolError(
      'channel_closed',
      `channel.open: receive direction failed earlier (${f.code}: ${f.message})`,
      'channel.open',
    );
  }

  #open(frame: Uint8Array): { kind: FrameKind; plaintext: Uint8Array } {
    const r = this.#recv;
    if (!(frame instanceof Uint8Array)) fail('malformed', 'frame', 'a Uint8Array', typeof frame);
    const minLen = FRAME_HEADER_LEN + 256 + FRAME_TAG_LEN;
    if (frame.length < minLen)
      fail('truncated', 'frame', `at least ${minLen} bytes`, `${frame.length} bytes`);
    const maxLen = FRAME_HEADER_LEN + paddedLength(this.limits.maxFramePlaintext) + FRAME_TAG_LEN;
    if (frame.length > maxLen)
      fail('too_large', 'frame', `at most ${maxLen} bytes`, `${frame.length} bytes`);
    const version = frame[0] as number;
    if (version !== FRAME_VERSION)
      fail('unsupported_version', 'frame.version', FRAME_VERSION, version);
    const type = frame[1] as number;
    if (type !== FRAME_TYPE.data && type !== FRAME_TYPE.close)
      fail('unknown_type', 'frame.type', '1 (data) or 2 (close)', type);
    const flags = frame[3] as number;
    if ((flags & ~FLAG_KEY_UPDATE) !== 0 || (type === FRAME_TYPE.close && flags !== 0))
      fail(
        'reserved_nonzero',
        'frame.flags',
        type === FRAME_TYPE.close ? 0 : 'only bit 0 (key_update)',
        flags,
      );
    const dir = frame[2] as number;
    if (dir !== r.dir) fail('wrong_direction', 'frame.direction', r.dir, dir);
    const epoch = readU32(frame, 4);
    if (epoch !== r.epoch) fail('wrong_epoch', 'frame.epoch', r.epoch, epoch);
    const bodyLen = frame.length - FRAME_HEADER_LEN - FRAME_TAG_LEN;
    if (!isBucketLength(bodyLen))
      fail('bad_length', 'frame.body', 'a padding bucket length', bodyLen);
    const header = frame.subarray(0, FRAME_HEADER_LEN);
    const body = r.aead.open(nonceFor(r.nonce, frame), frame.subarray(FRAME_HEADER_LEN), header);
    if (body === null)
      fail(
        'decrypt_failed',
        'frame',
        'a frame that authenticates under the current key',
        'an AEAD tag mismatch',
      );
    // Authenticated: the header (and so seq) is genuine.
    const hi = readU32(frame, 8);
    const lo = readU32(frame, 12);
    const seq = hi * 0x100000000 + lo; // exact while hi < 2^21; larger values are never "expected"
    if (this.#failure) {
      // Only reachable after a gap: classify the late frame, then stay dead.
      if (seq >= r.seq && seq < this.#gapSeq)
        fail(
          'reorder',
          'frame.seq',
          `frames in order (frame ${this.#gapSeq} arrived before this one)`,
          seq,
        );
      this.#dead();
    }
    if (seq < r.seq) fail('replay', 'frame.seq', r.seq, seq);
    if (seq > r.seq || hi >= 0x200000) {
      this.#gapSeq = seq;
      fail('gap', 'frame.seq', r.seq, seq);
    }
    if (r.framesInEpoch >= this.limits.maxFramesPerEpoch)
      fail(
        'rekey_required',
        'frame.epoch',
        `a key update within ${this.limits.maxFramesPerEpoch} frames`,
        `frame ${r.framesInEpoch + 1} in epoch ${r.epoch}`,
      );
    const plaintext = unpad(body, 'frame.body');
    r.seq++;
    r.framesInEpoch++;
    if ((flags & FLAG_KEY_UPDATE) !== 0) this.#advance(r);
    if (type === FRAME_TYPE.close) {
      if (plaintext.length !== 0)
        fail('malformed', 'frame.close', 'an empty close body', `${plaintext.length} bytes`);
      this.#peerClosed = true;
      return { kind: 'close', plaintext };
    }
    return { kind: 'data', plaintext };
  }

  /**
   * The transport reports that the stream ended. Returns normally only after the peer's
   * authenticated close; otherwise throws ProtocolError('truncation'), so a cut stream is never
   * mistaken for a complete answer.
   */
  transportEnded(): void {
    if (this.#peerClosed) return;
    const code: ProtocolErrorCode = 'truncation';
    const e = new ProtocolError(
      code,
      'channel: expected an authenticated close frame before the end of the stream, got the end of the stream',
      'channel',
    );
    if (!this.#failure) this.#failure = e;
    throw e;
  }

  /** Overwrites both directions' keys; the channel is unusable afterwards. */
  zeroize(): void {
    wipe(this.#send.key, this.#recv.key);
    this.#zeroized = true;
    this.#closed = true;
  }
}

/** Fills the direction's scratch nonce with the frame's seq (header bytes 8..15); bytes 0..3 hold the direction. */
function nonceFor(n: Uint8Array, frame: Uint8Array): Uint8Array {
  for (let i = 4; i < 12; i++) n[i] = frame[i + 4] as number;
  return n;
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

function writeU64(b: Uint8Array, o: number, v: number): void {
  writeU32(b, o, Math.floor(v / 0x100000000));
  writeU32(b, o + 4, v >>> 0);
}

function readU32(b: Uint8Array, o: number): number {
  return (
    ((b[o] as number) * 0x1000000 +
      (((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number))) >>>
    0
  );
}
