/**
 * BENCH ONLY. A plaintext stand-in for the secure channel (no keys, no AEAD, no padding): one type
 * byte (1 data, 2 close) then the plaintext. It exists to measure what the attested channel costs.
 * Product code cannot reach it: only bench/e2e-server.ts passes it to startServer's programmatic
 * option, and no flag, environment variable or config key can.
 */
import type { ChannelLike } from '../enclave-server/server';

export class PlainChannel implements ChannelLike {
  isClosed = false;
  seal(pt: Uint8Array): Uint8Array {
    const f = new Uint8Array(pt.length + 1);
    f[0] = 1;
    f.set(pt, 1);
    return f;
  }
  openFrame(frame: Uint8Array): { kind: 'data' | 'close'; plaintext: Uint8Array } {
    return { kind: frame[0] === 2 ? 'close' : 'data', plaintext: frame.subarray(1) };
  }
  close(): Uint8Array {
    this.isClosed = true;
    return Uint8Array.of(2);
  }
  zeroize(): void {
    this.isClosed = true;
  }
}
