/**
 * The dm-verity root hash of a data image, as `veritysetup format` computes it (format 1, the
 * default; format 0, Chrome OS, also supported), so that a model disk's root hash can be put on the
 * measured kernel command line and recomputed by anyone from the published file.
 *
 * The tree (Linux Documentation/admin-guide/device-mapper/verity.rst, facts):
 *   - level 0: one digest per data block, H(salt ‖ block) in format 1 (H(block ‖ salt) in format 0);
 *   - digests go into hash blocks, 2^k per block where 2^k is the largest power of two
 *     ≤ hash_block_size / digest_size; in format 1 each slot is hash_block_size / 2^k bytes, in
 *     format 0 the digests are packed at digest_size; the rest of a block is zero;
 *   - each upper level hashes the hash blocks of the level below, until one block remains;
 *   - root = H(salt ‖ that block); with a single data block, root = H(salt ‖ data block).
 * Only whole data blocks are covered: a trailing partial block is not protected (veritysetup
 * ignores it silently; `allowUnalignedTail` must be set to accept that, and the result says so).
 *
 * Streaming: `VerityTree.update()` takes the data in any chunking; `finish()` returns the root.
 * Pure: no Node/DOM imports; hashes from @noble/hashes unless a hasher is injected.
 */
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { fail } from '../errors';

export type VerityHashName = 'sha256' | 'sha512' | 'sha1';
export const VERITY_HASHES: readonly VerityHashName[] = ['sha256', 'sha512', 'sha1'];
const DIGEST_SIZE: Record<VerityHashName, number> = { sha256: 32, sha512: 64, sha1: 20 };

/** Incremental hash (one message fed in parts). */
export interface IncrementalHash {
  update(data: Uint8Array): IncrementalHash;
  digest(): Uint8Array;
}
export type VerityHasher = (alg: VerityHashName) => IncrementalHash;

export const nobleVerityHasher: VerityHasher = (alg) => {
  const h = alg === 'sha256' ? sha256.create() : alg === 'sha512' ? sha512.create() : sha1.create();
  const w: IncrementalHash = {
    update: (d) => {
      h.update(d);
      return w;
    },
    digest: () => h.digest(),
  };
  return w;
};

export interface VerityParams {
  readonly hash?: VerityHashName;
  /** Salt bytes (may be empty: veritysetup `--salt -`). */
  readonly salt: Uint8Array;
  readonly dataBlockSize?: number;
  readonly hashBlockSize?: number;
  readonly format?: 0 | 1;
  /** Accept a data size that is not a multiple of the data block size (the tail is unprotected). */
  readonly allowUnalignedTail?: boolean;
  readonly hasher?: VerityHasher;
}

export interface VerityResult {
  readonly rootHash: Uint8Array;
  readonly hash: VerityHashName;
  readonly format: 0 | 1;
  readonly salt: Uint8Array;
  readonly dataBlockSize: number;
  readonly hashBlockSize: number;
  readonly dataBlocks: number;
  /** Bytes after the last whole data block: not covered by the tree. */
  readonly unprotectedTailBytes: number;
  /** Hash blocks per level, from level 0 (over the data) up. */
  readonly levelBlocks: readonly number[];
  /** Size of the hash area veritysetup writes (superblock excluded). */
  readonly hashAreaBytes: number;
}

export const MAX_SALT = 256;

function checkBlockSize(n: number, field: string): number {
  if (!Number.isInteger(n) || n < 512 || n > 512 * 1024 || (n & (n - 1)) !== 0) {
    fail('usage', field, 'a power of two from 512 to 524288', n);
  }
  return n;
}

/** Streaming dm-verity tree builder. */
export class VerityTree {
  readonly hash: VerityHashName;
  readonly format: 0 | 1;
  readonly dataBlockSize: number;
  readonly hashBlockSize: number;
  private readonly salt: Uint8Array;
  private readonly hasher: VerityHasher;
  private readonly digestSize: number;
  private readonly slot: number;
  private readonly perBlock: number;
  private readonly allowTail: boolean;
  // Partial data block being filled.
  private readonly pending: Uint8Array;
  private pendingLen = 0;
  private dataBlocks = 0;
  // Level-0 hash blocks, filled as the data streams.
  private readonly levels: Uint8Array[][] = [[]];
  private current: Uint8Array;
  private currentLen = 0;
  private finished = false;

  constructor(p: VerityParams) {
    this.hash = p.hash ?? 'sha256';
    if (!VERITY_HASHES.includes(this.hash)) fail('usage', 'verity.hash', VERITY_HASHES.join(' | '), this.hash);
    this.format = p.format ?? 1;
    if (this.format !== 0 && this.format !== 1) fail('usage', 'verity.format', '0 or 1', this.format);
    this.dataBlockSize = checkBlockSize(p.dataBlockSize ?? 4096, 'verity.data_block_size');
    this.hashBlockSize = checkBlockSize(p.hashBlockSize ?? 4096, 'verity.hash_block_size');
    if (p.salt.length > MAX_SALT) fail('usage', 'verity.salt', `at most ${MAX_SALT} bytes`, p.salt.length);
    this.salt = Uint8Array.from(p.salt);
    this.hasher = p.hasher ?? nobleVerityHasher;
    this.digestSize = DIGEST_SIZE[this.hash];
    const perBlock = this.hashBlockSize / this.digestSize;
    if (perBlock < 2) fail('usage', 'verity.hash_block_size', `at least 2 digests of ${this.digestSize} bytes`, this.hashBlockSize);
    const bits = Math.floor(Math.log2(perBlock));
    this.perBlock = 2 ** bits;
    this.slot = this.format === 1 ? this.hashBlockSize >> bits : this.digestSize;
    this.allowTail = p.allowUnalignedTail === true;
    this.pending = new Uint8Array(this.dataBlockSize);
    this.current = new Uint8Array(this.hashBlockSize);
  }

  private digestOf(block: Uint8Array): Uint8Array {
    const h = this.hasher(this.hash);
    if (this.format === 1) h.update(this.salt);
    h.update(block);
    if (this.format === 0) h.update(this.salt);
    return h.digest();
  }

  private pushLevel0(d: Uint8Array): void {
    if (this.currentLen === this.perBlock * this.slot) {
      this.levels[0]!.push(this.current);
      this.current = new Uint8Array(this.hashBlockSize);
      this.currentLen = 0;
    }
    this.current.set(d, this.currentLen);
    this.currentLen += this.slot;
  }

  private dataBlock(block: Uint8Array): void {
    this.pushLevel0(this.digestOf(block));
    this.dataBlocks++;
  }

  update(data: Uint8Array): this {
    if (this.finished) fail('malformed', 'verity', 'data before finish()', 'update after finish()');
    let off = 0;
    if (this.pendingLen > 0) {
      const take = Math.min(data.length, this.dataBlockSize - this.pendingLen);
      this.pending.set(data.subarray(0, take), this.pendingLen);
      this.pendingLen += take;
      off = take;
      if (this.pendingLen === this.dataBlockSize) {
        this.dataBlock(this.pending);
        this.pendingLen = 0;
      }
    }
    while (data.length - off >= this.dataBlockSize) {
      this.dataBlock(data.subarray(off, off + this.dataBlockSize));
      off += this.dataBlockSize;
    }
    if (off < data.length) {
      this.pending.set(data.subarray(off), 0);
      this.pendingLen = data.length - off;
    }
    return this;
  }

  finish(): VerityResult {
    if (this.finished) fail('malformed', 'verity', 'one finish()', 'a second finish()');
    this.finished = true;
    if (this.dataBlocks === 0) {
      fail('bad_length', 'verity.data', `at least one ${this.dataBlockSize}-byte block`, `${this.pendingLen} bytes`);
    }
    if (this.pendingLen > 0 && !this.allowTail) {
      fail(
        'bad_length',
        'verity.data',
        `a multiple of the ${this.dataBlockSize}-byte data block size (the tail would not be protected)`,
        `${this.dataBlocks * this.dataBlockSize + this.pendingLen} bytes`,
      );
    }
    let root: Uint8Array;
    const levelBlocks: number[] = [];
    if (this.dataBlocks === 1) {
      // No hash blocks: the root is the digest of the only data block (held in `current`).
      root = this.current.slice(0, this.digestSize);
    } else {
      this.levels[0]!.push(this.current);
      let level = this.levels[0]!;
      levelBlocks.push(level.length);
      while (level.length > 1) {
        const next: Uint8Array[] = [];
        let cur = new Uint8Array(this.hashBlockSize);
        let len = 0;
        for (const b of level) {
          if (len === this.perBlock * this.slot) {
            next.push(cur);
            cur = new Uint8Array(this.hashBlockSize);
            len = 0;
          }
          cur.set(this.digestOf(b), len);
          len += this.slot;
        }
        next.push(cur);
        levelBlocks.push(next.length);
        level = next;
      }
      root = this.digestOf(level[0]!);
    }
    return {
      rootHash: root,
      hash: this.hash,
      format: this.format,
      salt: Uint8Array.from(this.salt),
      dataBlockSize: this.dataBlockSize,
      hashBlockSize: this.hashBlockSize,
      dataBlocks: this.dataBlocks,
      unprotectedTailBytes: this.pendingLen,
      levelBlocks,
      hashAreaBytes: levelBlocks.reduce((a, b) => a + b, 0) * this.hashBlockSize,
    };
  }
}

/** Root hash of an in-memory image. */
export function verityRootHash(data: Uint8Array, p: VerityParams): VerityResult {
  return new VerityTree(p).update(data).finish();
}
