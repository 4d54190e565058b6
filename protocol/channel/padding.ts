/**
 * Plaintext padding to size buckets (docs/PROTOCOL.md §Padding). The padded body is
 *   u32 content_length ‖ content ‖ zero bytes
 * and its total length is the smallest bucket ≥ 4 + content_length, where the buckets are
 * 256, 1024, 4096, 16384 bytes and then every multiple of 16384 bytes.
 *
 * Why: streamed LLM answers leak token lengths through ciphertext sizes (Weiss et al., USENIX
 * Security 2024). Every delta frame of one or a few tokens (and every control message) lands in
 * the 256-byte bucket, so sizes reveal nothing about the text. Larger messages (prompts, code
 * selections) reveal only their size class: the ladder grows ×4 up to 16 KiB, then in 16 KiB steps,
 * so the overhead is at most ~×4 for small messages (they are tiny anyway) and < 6.3 % for
 * anything ≥ 256 KiB.
 */
import { fail } from '../errors';

export const PADDING_BUCKETS: readonly number[] = [256, 1024, 4096, 16384];
export const PADDING_STEP = 16384;
export const PADDING_PREFIX = 4;

/** The padded body length for a content of `contentLength` bytes. */
export function paddedLength(contentLength: number): number {
  const need = PADDING_PREFIX + contentLength;
  for (const b of PADDING_BUCKETS) if (need <= b) return b;
  return Math.ceil(need / PADDING_STEP) * PADDING_STEP;
}

/** Whether `n` is a length the padding scheme can produce. */
export function isBucketLength(n: number): boolean {
  return PADDING_BUCKETS.includes(n) || (n > PADDING_STEP && n % PADDING_STEP === 0);
}

/** Writes the padded body for `content` into `out` at `offset` (out is zero-initialised there). */
export function writePadded(out: Uint8Array, offset: number, content: Uint8Array): void {
  const n = content.length;
  out[offset] = n >>> 24;
  out[offset + 1] = (n >>> 16) & 0xff;
  out[offset + 2] = (n >>> 8) & 0xff;
  out[offset + 3] = n & 0xff;
  out.set(content, offset + PADDING_PREFIX);
}

/** Parses a padded body; the padding must be all zero. Returns a view of the content. */
export function unpad(body: Uint8Array, field: string): Uint8Array {
  if (body.length < PADDING_PREFIX)
    fail('bad_padding', field, `at least ${PADDING_PREFIX} bytes`, body.length);
  const n =
    (((body[0] as number) << 24) |
      ((body[1] as number) << 16) |
      ((body[2] as number) << 8) |
      (body[3] as number)) >>>
    0;
  if (n > body.length - PADDING_PREFIX)
    fail('bad_padding', `${field}.content_length`, `at most ${body.length - PADDING_PREFIX}`, n);
  let nz = 0;
  for (let i = PADDING_PREFIX + n; i < body.length; i++) nz |= body[i] as number;
  if (nz !== 0) fail('bad_padding', `${field}.padding`, 'all zero bytes', 'a non-zero byte');
  return body.subarray(PADDING_PREFIX, PADDING_PREFIX + n);
}
