/**
 * Byte helpers for the TDX parsers: the shared encoders of protocol/encoding.ts (PEM included),
 * plus a bounds-checked little-endian reader. Every failure is a ProtocolError naming the field.
 */
import { fail } from '../../errors';

export {
  bytesEqual,
  concatBytes,
  fromHex,
  isAllZero,
  pemBlocks,
  toHex,
  utf8Decode,
  utf8Encode,
} from '../../encoding';

/** Bounds-checked little-endian reader over a byte string. */
export class ByteReader {
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}

  need(offset: number, length: number, field: string): void {
    if (offset < 0 || length < 0 || offset + length > this.bytes.length) {
      fail(
        'truncated',
        `${this.what}.${field}`,
        `${offset + length} bytes`,
        `${this.bytes.length} bytes`,
      );
    }
  }

  u8(offset: number, field: string): number {
    this.need(offset, 1, field);
    return this.bytes[offset] ?? 0;
  }

  u16(offset: number, field: string): number {
    this.need(offset, 2, field);
    return (this.bytes[offset] ?? 0) | ((this.bytes[offset + 1] ?? 0) << 8);
  }

  u32(offset: number, field: string): number {
    this.need(offset, 4, field);
    return (
      ((this.bytes[offset] ?? 0) |
        ((this.bytes[offset + 1] ?? 0) << 8) |
        ((this.bytes[offset + 2] ?? 0) << 16) |
        ((this.bytes[offset + 3] ?? 0) << 24)) >>>
      0
    );
  }

  /** A copy of `length` bytes at `offset` (copies so callers can keep slices of mutable input). */
  take(offset: number, length: number, field: string): Uint8Array {
    this.need(offset, length, field);
    return this.bytes.slice(offset, offset + length);
  }
}
