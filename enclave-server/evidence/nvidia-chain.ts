/**
 * NVML's GPU certificate chain buffer, as the provider and `teechat-server collateral fetch` both
 * read it (a module of its own so that neither imports the other).
 */
import { namesEqual, type Certificate } from '../../protocol/x509/index';
import { readTlv } from '../../protocol/asn1/der';

/** Orders a chain leaf first (NVML may return it root first); returns the parsed certificates. */
export function normalizeChain(chain: readonly Certificate[]): Certificate[] {
  if (chain.length < 2) return [...chain];
  const first = chain[0]!;
  const selfSigned = namesEqual(first.subject, first.issuer);
  return selfSigned ? [...chain].reverse() : [...chain];
}

/**
 * The NVML chain buffer is PEM text or DER certificates back to back, possibly followed by NUL
 * padding. Trailing NULs are removed from PEM text; for DER, bytes after the last complete
 * certificate are dropped only when they are all zero.
 */
export function trimChain(b: Uint8Array): Uint8Array {
  if (b.length > 0 && b[0] !== 0x30) {
    let end = b.length;
    while (end > 0 && b[end - 1] === 0) end--;
    return b.subarray(0, end);
  }
  let off = 0;
  while (off < b.length && b[off] === 0x30) {
    const t = readTlv(b, off, 'chain');
    off += t.raw.length;
  }
  for (let k = off; k < b.length; k++) if (b[k] !== 0) return b; // not padding: let the parser report it
  return b.subarray(0, off);
}
