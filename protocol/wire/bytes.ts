/**
 * Byte helpers of the wire layer. The encodings (hex, strict UTF-8) live in protocol/encoding.ts
 * and are re-exported here under the names the wire code has always used.
 */
import { fail } from '../errors';

export {
  bytesEqual as ctEqual,
  concatBytes as concat,
  fromHex,
  toHex,
  utf8Decode,
  utf8Encode,
} from '../encoding';

/** Overwrites a buffer with zeros (best effort: JS engines may have copied it). */
export function wipe(...bufs: readonly (Uint8Array | undefined)[]): void {
  for (const b of bufs) b?.fill(0);
}

/** ASCII string to bytes (for fixed labels). */
export function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) fail('malformed', 'ascii', 'an ASCII string', s);
    out[i] = c;
  }
  return out;
}
