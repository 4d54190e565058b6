/** Byte helpers for the NVIDIA verifier; the encodings are protocol/encoding.ts's. */
export {
  bytesEqual,
  concatBytes,
  fromHex,
  isHex,
  toHex,
  utf8Decode,
  utf8Encode,
} from '../../encoding';

/** Printable ASCII with trailing NULs removed; null when a byte is outside 0x20..0x7e (NUL padding allowed at the end). */
export function asciiOrNull(b: Uint8Array): string | null {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  let s = '';
  for (let i = 0; i < end; i++) {
    const c = b[i]!;
    if (c < 0x20 || c > 0x7e) return null;
    s += String.fromCharCode(c);
  }
  return s;
}
