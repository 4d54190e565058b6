/**
 * Warm-path caches for NVIDIA verification. Both are sound because what they cache is a pure
 * function of the cached key:
 *  - chain results: a successful verifyChain depends only on the certificates, the pinned roots and
 *    the time; the time matters only through the validity windows, so an OK result is reused for
 *    any `at` inside the intersection of every certificate's window (root included). Failures are
 *    never cached.
 *  - RIM parse + XML-DSig results, keyed by SHA-384 of the RIM bytes.
 * Keys are hashes computed with the caller's CryptoProvider; both caches are bounded (LRU).
 */
import type { CryptoProvider } from '../../crypto/provider';
import { verifyChain, type Certificate, type ChainVerification } from '../../x509/index';
import { concatBytes, toHex } from './bytes';

export class Lru<V> {
  private readonly m = new Map<string, V>();
  constructor(readonly max: number) {}
  get(k: string): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    while (this.m.size > this.max) this.m.delete(this.m.keys().next().value as string);
  }
  clear(): void {
    this.m.clear();
  }
}

/** Default bound of each cache (entries). */
export const NVIDIA_CACHE_ENTRIES = 64;

interface ChainEntry {
  readonly from: number;
  readonly to: number;
  readonly result: ChainVerification;
}

const chainCache = new Lru<ChainEntry>(NVIDIA_CACHE_ENTRIES);

/** verifyChain with the OK-result cache described above. */
export function verifyChainCached(
  crypto: CryptoProvider,
  chain: readonly Certificate[],
  roots: readonly Certificate[],
  at: Date,
): ChainVerification {
  const key = toHex(
    crypto.hash(
      'SHA-256',
      concatBytes(...chain.map((c) => c.der), new Uint8Array(1), ...roots.map((r) => r.der)),
    ),
  );
  const hit = chainCache.get(key);
  const t = at.getTime();
  if (hit !== undefined && t >= hit.from && t <= hit.to) return hit.result;
  const result = verifyChain(crypto, chain, roots, at);
  if (result.problems.length === 0 && result.root !== undefined) {
    // Conservative window: every certificate of the chain and every pinned root is valid.
    const all = [...chain, ...roots];
    const rf = Math.max(...all.map((c) => c.notBefore.getTime()));
    const rt = Math.min(...all.map((c) => c.notAfter.getTime()));
    chainCache.set(key, { from: rf, to: rt, result });
  }
  return result;
}

/** Shared LRU for parsed + signature-checked RIMs (see rim.ts). */
export const rimCache = new Lru<unknown>(NVIDIA_CACHE_ENTRIES);

/** Empties both caches (benchmarks of the cold path; tests). */
export function clearNvidiaCaches(): void {
  chainCache.clear();
  rimCache.clear();
}
