/**
 * Synthetic PE/COFF kernels for the TDX direct-boot tests and bench (test/unit/measure-tdx-boot.test.ts,
 * bench/suites/measure.ts).
 */

/**
 * A synthetic EFI-stub-like bzImage: DOS + PE headers below the Linux setup header, two sections
 * (.setup, .text), a "HdrS" setup header with boot protocol `protocol` and XLF_CAN_BE_LOADED_ABOVE_4G,
 * xorshift filler (deterministic) elsewhere.
 */
export function makePe(opts: { seed: number; extra: number; pe32Plus?: boolean; protocol?: number }): Uint8Array {
  const size = 0x1400 + opts.extra;
  const b = new Uint8Array(size);
  let x = opts.seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  const v = new DataView(b.buffer);
  b.fill(0, 0, 0x400);
  b[0] = 0x4d;
  b[1] = 0x5a;
  v.setUint32(0x3c, 0x80, true);
  v.setUint32(0x80, 0x4550, true);
  const coff = 0x84;
  const plus = opts.pe32Plus ?? true;
  v.setUint16(coff, 0x8664, true);
  v.setUint16(coff + 2, 2, true);
  const optSize = plus ? 240 : 224;
  v.setUint16(coff + 16, optSize, true);
  v.setUint16(coff + 18, 0x206, true);
  const opt = coff + 20;
  v.setUint16(opt, plus ? 0x20b : 0x10b, true);
  v.setUint32(opt + 32, 0x20, true);
  v.setUint32(opt + 36, 0x20, true);
  v.setUint32(opt + 56, 0x3000, true);
  v.setUint32(opt + 60, 0x400, true);
  v.setUint32(opt + 64, 0x12345678, true);
  v.setUint16(opt + 68, 10, true);
  v.setUint32(opt + (plus ? 108 : 92), 16, true);
  const t = opt + optSize;
  const sec = (i: number, name: string, off: number, sz: number): void => {
    const s = t + i * 40;
    for (let j = 0; j < name.length; j++) b[s + j] = name.charCodeAt(j);
    v.setUint32(s + 8, sz, true);
    v.setUint32(s + 12, off, true);
    v.setUint32(s + 16, sz, true);
    v.setUint32(s + 20, off, true);
    v.setUint32(s + 36, 0x60000020, true);
  };
  sec(1, '.text', 0xa00, size - 0xa00);
  sec(0, '.setup', 0x400, 0x600);
  b[0x1f1] = 1;
  v.setUint32(0x202, 0x53726448, true);
  v.setUint16(0x206, opts.protocol ?? 0x20f, true);
  b[0x211] = 1;
  v.setUint16(0x236, 0x40, true);
  return b;
}
